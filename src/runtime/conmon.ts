// ConmonRuntime: containers run by runc under conmon (one conmon per container, detached from the
// daemon like Podman's), so they outlive a daemon restart. All state is in files (see state.ts).
import { Timeline } from '../common/timeline.js';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, openSync, closeSync, writeSync, readFileSync, renameSync, rmSync, writeFileSync, constants } from 'node:fs';
import { discard, sweepDiscarded } from './discard.js';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import type { AttachOptions, AttachSession, ContainerStatus, ExecSession, ExecSpec, LogOptions, Runtime, RunSpec } from './types.js';
import type { ImageStore } from './images.js';
import { buildOciSpec, resolveUser } from './oci-spec.js';
import { Paths, aliveAs, loadSpec, readInt, readStatus, signalInit } from './state.js';
import { mountOverlay, unmount } from './overlay.js';
import { ExitWatcher } from './exits.js';
import { AttachBridge } from './attach.js';
import { runcExecArgs, startExec } from './exec.js';
import { logStream } from './logs.js';
import { launchConmon } from './launch.js';
import { conflict, systemError } from '../common/errors.js';
import { faultPoint } from '../common/faults.js';

const run = promisify(execFile);

export interface Logger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ConmonRuntimeOptions {
  execRoot: string;
  dataRoot: string;
  images: ImageStore;
  logger?: Logger;
  conmonPath?: string;
  runcPath?: string;
}

/** Milliseconds spent in each phase of the last start(). */
export interface StartTimings {
  mount: number;
  conmonCreate: number;
  attach: number;
  runcStart: number;
  total: number;
}

export class ConmonRuntime extends EventEmitter implements Runtime {
  readonly paths: Paths;
  private readonly exits: ExitWatcher;
  private readonly pending = new Map<string, Set<AttachBridge>>();
  /** Clean-ups under way after an exit (runc's state, the rootfs mount); start and remove wait for them. */
  private readonly cleaning = new Map<string, Promise<void>>();
  lastStartTimings: StartTimings | null = null;

  constructor(private readonly opts: ConmonRuntimeOptions) {
    super();
    this.paths = new Paths(opts.execRoot, opts.dataRoot);
    for (const d of [this.paths.runcRoot, this.paths.exitDir, join(opts.execRoot, 'containers'), join(opts.dataRoot, 'containers')]) {
      mkdirSync(d, { recursive: true });
    }
    for (const d of [join(opts.execRoot, 'containers'), join(opts.dataRoot, 'containers')]) sweepDiscarded(d, opts.logger);
    // A stopped container keeps no mount: every mount in the shared mount table slows runc, mount
    // and umount for all containers (measured: 300 created containers made start 25% slower).
    // After an exit, off the caller's path: runc forgets the stopped container (its state dir and
    // cgroup; a later start or remove then needs no `runc delete` of its own), and the rootfs is
    // unmounted.
    this.exits = new ExitWatcher(this.paths, (id, code) => {
      // Side by side: runc's delete does not touch the rootfs mount.
      const done = Promise.all([
        this.runcCmd('delete', id).catch((err: unknown) => this.opts.logger?.debug({ err: String(err), id }, 'runc delete after exit failed (start or remove retries it)')),
        unmount(this.paths.rootfs(id)).catch((err: unknown) => this.opts.logger?.warn({ err, id }, 'rootfs unmount failed')),
      ])
        .then(() => undefined)
        .finally(() => this.cleaning.delete(id));
      this.cleaning.set(id, done);
      this.emit('exit', id, code);
    });
  }

  private get runc(): string {
    return this.opts.runcPath ?? '/usr/sbin/runc';
  }

  private async runcCmd(...args: string[]): Promise<string> {
    const { stdout } = await run(this.runc, ['--root', this.paths.runcRoot, ...args]);
    return stdout;
  }

  /** Bundle dir + config.json + overlay rootfs, (re)built from the saved spec (exec-root may be a fresh tmpfs). */
  private async prepareBundle(spec: RunSpec): Promise<void> {
    await this.cleaning.get(spec.id);
    const bundle = this.paths.bundle(spec.id);
    mkdirSync(bundle, { recursive: true });
    await mountOverlay(this.opts.images.rootfs(spec.imageId), this.paths.layer(spec.id), this.paths.rootfs(spec.id));
    const rootfs = this.paths.rootfs(spec.id);
    const read = (f: string) => (existsSync(join(rootfs, f)) ? readFileSync(join(rootfs, f), 'utf8') : '');
    const user = resolveUser(spec.user, read('etc/passwd'), read('etc/group'));
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(buildOciSpec(spec, rootfs, user), null, 1));
  }

  async create(spec: RunSpec): Promise<void> {
    this.opts.images.rootfs(spec.imageId); // throws for unknown images via config() below
    this.opts.images.config(spec.imageId);
    mkdirSync(this.paths.layer(spec.id), { recursive: true });
    // Written whole or not at all (a daemon killed mid-write left an empty spec that made the
    // container unstartable, "No such container", found by the crash-consistency test).
    const file = this.paths.specFile(spec.id);
    writeFileSync(`${file}.tmp`, JSON.stringify(spec));
    renameSync(`${file}.tmp`, file);
    // The bundle and its overlay mount are made by start(), as dockerd and podman do.
  }

  async start(id: string, extraEnv: string[] = []): Promise<ContainerStatus> {
    const t0 = performance.now();
    const saved = loadSpec(this.paths, id);
    const spec = extraEnv.length ? { ...saved, env: [...saved.env, ...extraEnv] } : saved;
    const st = readStatus(this.paths, id);
    if (st.running) {
      this.exits.add(id); // whoever started it, its exit is reported
      return st;
    }
    await this.prepareBundle(spec);
    const t1 = performance.now();
    // A previous run leaves a stopped runc container and exit markers behind.
    if (existsSync(join(this.paths.runcRoot, id))) await this.runcCmd('delete', '--force', id).catch(() => undefined);
    for (const f of [this.paths.exitFile(id), this.paths.reportedFile(id), this.paths.pidfile(id), this.paths.startedFile(id)]) {
      rmSync(f, { force: true });
    }
    await launchConmon({
      conmon: this.opts.conmonPath ?? '/usr/bin/conmon',
      runc: this.runc,
      paths: this.paths,
      spec,
    });
    const t2 = performance.now();
    writeFileSync(this.paths.startedFile(id), '');
    this.exits.add(id);
    faultPoint('runtime.start.after-create');
    const waiting = [...(this.pending.get(id) ?? [])];
    this.pending.delete(id);
    await Promise.all(waiting.map((a) => a.connect(this.paths.bundle(id)).catch((err) => this.opts.logger?.warn({ err, id }, 'attach failed'))));
    const t3 = performance.now();
    try {
      await this.runcCmd('start', id);
    } catch (err) {
      const msg = ((err as { stderr?: string }).stderr ?? String(err)).trim();
      await this.runcCmd('delete', '--force', id).catch(() => undefined);
      throw systemError(`failed to start container ${id}: ${msg}`);
    }
    faultPoint('runtime.start.after-runc-start');
    const t4 = performance.now();
    this.lastStartTimings = { mount: t1 - t0, conmonCreate: t2 - t1, attach: t3 - t2, runcStart: t4 - t3, total: t4 - t0 };
    this.opts.logger?.debug({ id, timings: this.lastStartTimings }, 'container started');
    return readStatus(this.paths, id);
  }

  async kill(id: string, signal: string): Promise<void> {
    const st = readStatus(this.paths, id);
    if (!st.running) throw conflict(`Container ${id} is not running`);
    const sig = /^\d+$/.test(signal) ? signal : signal.toUpperCase().replace(/^SIG/, '');
    // `runc kill` is a process start (10-35 ms here) for a check and one kill(2): done here when
    // the check can be (signalInit), else by runc.
    if (signalInit(this.paths, id, sig)) return;
    try {
      await this.runcCmd('kill', id, sig);
    } catch (err) {
      const msg = ((err as { stderr?: string }).stderr ?? String(err)).trim();
      if (/not running|does not exist/.test(msg)) throw conflict(`Container ${id} is not running`);
      throw systemError(`Cannot kill container: ${id}: ${msg}`);
    }
  }

  async status(id: string): Promise<ContainerStatus> {
    return readStatus(this.paths, id);
  }

  async attach(id: string, opts: AttachOptions): Promise<AttachSession> {
    const spec = loadSpec(this.paths, id);
    const running = readStatus(this.paths, id).running;
    let bridge: AttachBridge;
    const forget = () => this.pending.get(id)?.delete(bridge);
    bridge = new AttachBridge(opts, spec.tty, forget);
    if (running) {
      await bridge.connect(this.paths.bundle(id));
    } else {
      // Not started yet (docker run -a / start -a): connected by start() before `runc start`.
      if (!this.pending.has(id)) this.pending.set(id, new Set());
      this.pending.get(id)!.add(bridge);
    }
    return bridge;
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    let fd: number;
    try {
      fd = openSync(join(this.paths.bundle(id), 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      throw conflict(`Container ${id} is not running`);
    }
    try {
      writeSync(fd, `1 ${height} ${width}\n`);
    } finally {
      closeSync(fd);
    }
  }

  async exec(id: string, spec: ExecSpec): Promise<ExecSession> {
    if (!readStatus(this.paths, id).running) throw conflict(`Container ${id} is not running`);
    const rootfs = this.paths.rootfs(id);
    const read = (f: string) => (existsSync(join(rootfs, f)) ? readFileSync(join(rootfs, f), 'utf8') : '');
    const user = resolveUser(spec.user || loadSpec(this.paths, id).user, read('etc/passwd'), read('etc/group'));
    return startExec(runcExecArgs(this.paths.runcRoot, id, spec, user), spec);
  }

  logs(id: string, opts: LogOptions, tty: boolean): Readable {
    return logStream(this.paths.log(id), opts, tty, () => {
      try {
        return readStatus(this.paths, id).running;
      } catch {
        return false;
      }
    });
  }

  cancelAttaches(id: string): void {
    for (const a of this.pending.get(id) ?? []) a.close();
    this.pending.delete(id);
  }

  async abandon(id: string): Promise<ContainerStatus> {
    this.exits.forget(id);
    this.cancelAttaches(id);
    await this.runcCmd('delete', '--force', id).catch(() => undefined); // kills what runs and waits for it
    const conmon = readInt(this.paths.conmonPidfile(id));
    if (conmon && aliveAs(conmon, 'conmon', id)) process.kill(conmon, 'SIGKILL');
    await unmount(this.paths.rootfs(id)).catch((err: unknown) => this.opts.logger?.warn({ err, id }, 'rootfs unmount failed'));
    const st = existsSync(this.paths.specFile(id)) ? readStatus(this.paths, id) : null;
    if (st?.startedAt && !existsSync(this.paths.reportedFile(id))) writeFileSync(this.paths.reportedFile(id), JSON.stringify({ code: st.exitCode ?? 255 }));
    return st ?? { running: false, pid: 0, exitCode: null, startedAt: null, finishedAt: null };
  }

  async remove(id: string): Promise<void> {
    const t = new Timeline();
    this.exits.forget(id);
    this.cancelAttaches(id);
    await this.cleaning.get(id); // what the exit started
    t.mark('afterExit');
    if (existsSync(join(this.paths.runcRoot, id))) await this.runcCmd('delete', '--force', id).catch(() => undefined);
    t.mark('runcDelete');
    const conmon = readInt(this.paths.conmonPidfile(id));
    if (conmon && aliveAs(conmon, 'conmon', id)) process.kill(conmon, 'SIGKILL');
    await unmount(this.paths.rootfs(id));
    t.mark('unmount');
    discard(this.paths.bundle(id), this.opts.logger);
    rmSync(this.paths.exitFile(id), { force: true });
    discard(this.paths.layer(id), this.opts.logger);
    t.mark('files');
    this.opts.logger?.debug({ id, steps: t.done() }, 'runtime remove steps');
  }

  logPath(id: string): string {
    return this.paths.log(id);
  }

  async recover(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (!existsSync(this.paths.specFile(id))) continue;
      this.exits.add(id);
      this.exits.check(id, true);
    }
  }

  /** Stops exit watching (containers keep running). */
  close(): void {
    this.exits.close();
  }
}
