import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestNetns, type TestNetns } from './netns.js';

// Starts a container engine (weftd, the real dockerd, or Podman's Docker-compatible API service)
// in a fresh network namespace with private data root, exec root and socket, so that e2e tests and
// benchmarks can drive it with the real docker CLI. Everything it creates is torn down by stop(),
// which then checks that nothing leaked.
//
// Podman keeps netavark/aardvark state in the global /run/containers/networks, so run at most one
// podman daemon at a time. Its configuration is private (CONTAINERS_CONF/CONTAINERS_STORAGE_CONF
// under the daemon's own dirs): runc (crun does not work here), cgroupfs, file events, netavark,
// and network definitions under the data root.

export type DaemonKind = 'weft' | 'docker' | 'podman';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // from dist/test/helpers
export const DOCKER_CLI = '/usr/local/bin/docker';
export const WEFT_CLI = join(REPO_ROOT, 'bin/weft');
export const WEFTD_MAIN = join(REPO_ROOT, 'dist/src/daemon/main.js');
/** The node flags bin/weftd runs with (its shebang line), so tests and benchmarks run weftd as users do. */
export const WEFTD_NODE_FLAGS = readFileSync(join(REPO_ROOT, 'bin/weftd'), 'utf8').split('\n')[0].split(/\s+/).filter((w) => w.startsWith('--'));
export const IMAGES_DIR = join(REPO_ROOT, 'images');
const DOCKERD = '/usr/sbin/dockerd';
export const PODMAN = '/usr/bin/podman';

export interface CmdResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CmdOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ApiResult {
  status: number;
  text: string;
  json: any;
}

export interface StartOptions {
  /** How long to wait for /_ping. Default 20 s for weft, 40 s for docker. */
  startTimeoutMs?: number;
  /** Images to import into dockerd/podman (weftd seeds its own). Default alpine and busybox. */
  images?: string[];
  /** Extra daemon flags. */
  extraArgs?: string[];
  /** weft only: the daemon's entry script instead of weftd's (a test's own, e.g. with extra drivers). */
  main?: string;
  /** weft only: node flags put before the daemon's main script (e.g. --cpu-prof, --cpu-prof-dir=DIR). */
  nodeArgs?: string[];
  /** Extra environment for the daemon process. */
  daemonEnv?: NodeJS.ProcessEnv;
  /**
   * Runs the daemon in this namespace (a host of a multi-host test, test/helpers/underlay.ts)
   * instead of a fresh one; its owner deletes it, stop() only ends what the daemon started.
   */
  netns?: TestNetns;
}

export interface Daemon {
  kind: DaemonKind;
  netns: TestNetns;
  socket: string;
  /** unix://<socket> */
  host: string;
  dataRoot: string;
  execRoot: string;
  logFile: string;
  /** process.env plus DOCKER_HOST/WEFT_HOST pointing at this daemon and a private DOCKER_CONFIG. */
  env: NodeJS.ProcessEnv;
  /** Runs /usr/local/bin/docker against this daemon. Never throws on a non-zero exit. */
  docker(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** Runs docker and asserts it succeeded (the failure shows stderr and the daemon's log tail); returns trimmed stdout. */
  dockerOk(args: string[]): Promise<string>;
  /** Runs bin/weft (the project's CLI) against this daemon. */
  weft(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** One Engine API request over the unix socket. */
  api(method: string, path: string, body?: unknown): Promise<ApiResult>;
  /** Last lines of the daemon's stderr/stdout. */
  logTail(lines?: number): string;
  /** Removes every container, stops the daemon, unmounts, deletes the namespace and the dirs, then throws if anything leaked. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs the daemon process only (containers, shims, mounts stay): for restart tests. */
  kill9(): Promise<void>;
  /** Starts the daemon again on the same namespace, dirs and socket; `env` replaces StartOptions.daemonEnv from then on. */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  /** pid of the daemon process (nsenter execs it, so this is weftd/dockerd/podman itself), while it runs. */
  pid(): number | undefined;
  /** Milliseconds from spawning the daemon to its first 200 on /_ping, for the last (re)start. */
  lastStartupMs: number;
}

// ---------------------------------------------------------------------------------------------
// Small process helpers

export function runCmd(cmd: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${cmd} ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms, killed`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: stderr + String(err), code: 127 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export function apiRequest(socket: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: { Host: 'docker', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Mount points at or under any of the roots, deepest first. */
function mountsUnder(roots: string[]): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (roots.some((r) => mp === r || mp.startsWith(r + '/'))) out.push(mp);
  }
  return [...new Set(out)].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

/** Processes whose command line mentions one of the roots, or whose root/cwd lies under one. */
function processesUsing(roots: string[]): { pid: number; what: string }[] {
  const found: { pid: number; what: string }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let hit = roots.some((r) => cmdline.includes(r));
      if (!hit && foreignMountNs(pid)) {
        // A container: /proc/<pid>/root reads "/" from its own mount namespace, so look at what
        // its root is mounted from (overlay upper/lower dirs under our data root).
        try {
          const rootLine = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
            .split('\n')
            .find((l) => l.split(' ')[4] === '/');
          if (rootLine && roots.some((r) => rootLine.includes(r + '/'))) hit = true;
        } catch {
          /* gone */
        }
      }
      if (!hit) {
        for (const link of ['root', 'cwd']) {
          try {
            const target = readlinkSync(`/proc/${pid}/${link}`);
            if (roots.some((r) => target === r || target.startsWith(r + '/'))) hit = true;
          } catch {
            /* kernel thread or gone */
          }
        }
      }
      if (hit) found.push({ pid, what: cmdline || `[pid ${pid}]` });
    } catch {
      /* gone */
    }
  }
  return found;
}

let selfMntNs: string | undefined;
function foreignMountNs(pid: number): boolean {
  try {
    selfMntNs ??= readlinkSync('/proc/self/ns/mnt');
    return readlinkSync(`/proc/${pid}/ns/mnt`) !== selfMntNs;
  } catch {
    return false;
  }
}

/** Container cgroups (cgroupfs layout: <controller>/{docker,weft}/<id>) still present for these ids. */
function cgroupsLeft(ids: Iterable<string>): string[] {
  const base = '/sys/fs/cgroup';
  let controllers: string[] = [];
  try {
    controllers = readdirSync(base);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const id of ids) {
    for (const parent of ['docker', 'weft', 'libpod_parent/libpod-']) {
      for (const c of ['', ...controllers]) {
        const p = parent.endsWith('-') ? join(base, c, parent + id) : join(base, c, parent, id);
        if (existsSync(p)) found.push(p);
      }
    }
  }
  return found;
}

/** runc state dirs (…/<id>/state.json) under a root, as {root, id}. */
function runcStates(dir: string, depth = 5): { root: string; id: string }[] {
  const out: { root: string; id: string }[] = [];
  const walk = (d: string, left: number) => {
    let ents: import('node:fs').Dirent[];
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    if (ents.some((e) => e.isFile() && e.name === 'state.json')) {
      out.push({ root: dirname(d), id: d.slice(dirname(d).length + 1) });
      return;
    }
    if (left === 0) return;
    for (const e of ents) if (e.isDirectory() && !e.isSymbolicLink()) walk(join(d, e.name), left - 1);
  };
  walk(dir, depth);
  return out;
}

function netnsExists(name: string): boolean {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .some((l) => l.split(' ')[0] === name);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Availability / selection

export function dockerdAvailable(): boolean {
  return existsSync(DOCKERD) && existsSync(DOCKER_CLI);
}

export function podmanAvailable(): boolean {
  return existsSync(PODMAN) && existsSync(DOCKER_CLI) && existsSync('/usr/sbin/runc');
}

export function weftdBuilt(): boolean {
  return existsSync(WEFTD_MAIN);
}

/** Kinds to run e2e tests against: WEFT_E2E_DAEMONS=weft,docker; default weft plus docker when dockerd exists. */
export function daemonKinds(): DaemonKind[] {
  const raw = process.env.WEFT_E2E_DAEMONS?.trim();
  const kinds = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : dockerdAvailable() ? ['weft', 'docker'] : ['weft'];
  for (const k of kinds) if (k !== 'weft' && k !== 'docker' && k !== 'podman') throw new Error(`WEFT_E2E_DAEMONS: unknown daemon kind '${k}' (use weft,docker,podman)`);
  return kinds as DaemonKind[];
}

export function ensureImages(): void {
  if (existsSync(join(IMAGES_DIR, 'alpine.tar')) && existsSync(join(IMAGES_DIR, 'busybox.tar'))) return;
  execFileSync('bash', [join(REPO_ROOT, 'scripts/build-images.sh'), IMAGES_DIR], { stdio: 'inherit' });
}

// ---------------------------------------------------------------------------------------------
// Emergency cleanup if the test process dies without stop()

const live = new Set<{ emergency(): void }>();
let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const d of live) d.emergency();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const d of live) d.emergency();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

// ---------------------------------------------------------------------------------------------

export async function startDaemon(kind: DaemonKind, opts: StartOptions = {}): Promise<Daemon> {
  if (kind === 'weft' && !weftdBuilt()) {
    throw new Error(`weftd cannot start: ${WEFTD_MAIN} does not exist (build with \`npx tsc -p .\`; is src/daemon/main.ts written yet?)`);
  }
  if (kind === 'docker' && !dockerdAvailable()) {
    throw new Error(`dockerd cannot start: ${DOCKERD} or ${DOCKER_CLI} missing (apt-get install docker.io)`);
  }
  if (kind === 'podman' && !podmanAvailable()) {
    throw new Error(`podman cannot start: ${PODMAN}, ${DOCKER_CLI} or /usr/sbin/runc missing (apt-get install podman runc)`);
  }
  if (kind !== 'weft') ensureImages();
  installExitHooks();

  const tag = randomBytes(4).toString('hex');
  // Short paths: unix socket paths are limited to 108 bytes, and containerd puts its socket
  // under the exec root.
  const base = `/run/wt-${tag}`; // socket, pidfile, exec root
  const tmpRoot = `/tmp/wt-${tag}`; // data root, log, CLI config
  const execRoot = `${base}/x`;
  const dataRoot = `${tmpRoot}/data`;
  const socket = `${base}/d.sock`;
  const pidFile = `${base}/d.pid`;
  const logFile = `${tmpRoot}/daemon.log`;
  const roots = [base, tmpRoot];
  mkdirSync(execRoot, { recursive: true });
  mkdirSync(dataRoot, { recursive: true });
  mkdirSync(`${tmpRoot}/cli`, { recursive: true });
  writeFileSync(`${tmpRoot}/daemon.json`, '{}\n');

  const ownNetns = !opts.netns;
  const netns = opts.netns ?? createTestNetns('wt');
  const host = `unix://${socket}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, WEFT_HOST: host, DOCKER_CONFIG: `${tmpRoot}/cli` };
  for (const v of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[v];

  const daemonEnv: NodeJS.ProcessEnv = { ...process.env, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...opts.daemonEnv };
  let lastEnv: NodeJS.ProcessEnv = { ...opts.daemonEnv };
  if (kind === 'podman') {
    // Containers get nofile/nproc limits below this machine's hard limits (podman's defaults
    // exceed them and runc fails with "error setting rlimits").
    writeFileSync(
      `${tmpRoot}/containers.conf`,
      [
        '[containers]',
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${tmpRoot}/events.log"`,
        `tmp_dir = "${execRoot}/tmp"`,
        '[network]',
        'network_backend = "netavark"',
        `network_config_dir = "${dataRoot}/networks"`,
        '',
      ].join('\n'),
    );
    writeFileSync(`${tmpRoot}/storage.conf`, ['[storage]', 'driver = "overlay"', `graphroot = "${dataRoot}"`, `runroot = "${execRoot}"`, ''].join('\n'));
    daemonEnv.CONTAINERS_CONF = `${tmpRoot}/containers.conf`;
    daemonEnv.CONTAINERS_STORAGE_CONF = `${tmpRoot}/storage.conf`;
    env.CONTAINERS_CONF = daemonEnv.CONTAINERS_CONF;
    env.CONTAINERS_STORAGE_CONF = daemonEnv.CONTAINERS_STORAGE_CONF;
  }
  const daemonArgs =
    kind === 'weft'
      ? [process.execPath, ...WEFTD_NODE_FLAGS, ...(opts.nodeArgs ?? []), opts.main ?? WEFTD_MAIN, '-H', host, '--data-root', dataRoot, '--exec-root', execRoot, ...(opts.extraArgs ?? [])]
      : kind === 'podman'
      ? [PODMAN, '--root', dataRoot, '--runroot', execRoot, ...(opts.extraArgs ?? []), 'system', 'service', '--time=0', host]
      : [
          DOCKERD,
          '--data-root', dataRoot,
          '--exec-root', execRoot,
          '-H', host,
          '--pidfile', pidFile,
          // Hermetic: ignore /etc/docker/daemon.json. The default bridge keeps its name docker0:
          // it lives in this daemon's own namespace, and a non-default --bridge must be created by hand.
          '--config-file', `${tmpRoot}/daemon.json`,
          ...(opts.extraArgs ?? []),
        ];

  // Mutated from event callbacks, so kept in an object (TS does not narrow through callbacks).
  const st: { child?: ChildProcess; exited?: { code: number | null; signal: NodeJS.Signals | null } } = {};
  const exitInfo = () => st.exited;
  let stopped = false;
  let spawnedAt = 0;

  const launch = async () => {
    const fd = openSync(logFile, 'a');
    delete st.exited;
    try {
      spawnedAt = performance.now();
      st.child = netns.spawn(daemonArgs[0]!, daemonArgs.slice(1), { stdio: ['ignore', fd, fd], env: daemonEnv });
    } finally {
      closeSync(fd);
    }
    const c = st.child;
    c.on('exit', (code, signal) => {
      if (st.child === c) st.exited = { code, signal };
    });
    c.on('error', (err) => {
      if (st.child === c) st.exited = { code: -1, signal: null };
      writeFileSync(logFile, `[harness] spawn error: ${err}\n`, { flag: 'a' });
    });
    const limit = opts.startTimeoutMs ?? (kind === 'weft' ? 20_000 : 40_000);
    const deadline = Date.now() + limit;
    for (;;) {
      const ex = exitInfo();
      if (ex) {
        throw new Error(`${kind} daemon exited during startup (code ${ex.code}, signal ${ex.signal}); log ${logFile}:\n${tail(logFile)}`);
      }
      try {
        const r = await apiRequest(socket, 'GET', '/_ping', undefined, 2000);
        if (r.status === 200) {
          daemon.lastStartupMs = performance.now() - spawnedAt;
          return;
        }
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) {
        throw new Error(`${kind} daemon did not answer /_ping on ${socket} within ${limit} ms; log ${logFile}:\n${tail(logFile)}`);
      }
      await sleep(20);
    }
  };

  const killDaemon = async (signal: NodeJS.Signals, waitMs: number) => {
    const c = st.child;
    if (!c?.pid || st.exited) return;
    try {
      c.kill(signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (!st.exited && Date.now() < deadline) await sleep(50);
  };

  /** Synchronous, best-effort teardown of everything under our roots. Returns what failed. */
  const teardownSync = (): string[] => {
    const errors: string[] = [];
    if (st.child?.pid && !st.exited) {
      try {
        process.kill(st.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Containers left behind (daemon killed or failed to remove them): runc kills them and
    // removes their cgroups.
    for (const rs of runcStates(execRoot)) {
      try {
        execFileSync('runc', ['--root', rs.root, 'delete', '--force', rs.id], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        /* sweep below */
      }
    }
    for (let round = 0; round < 3; round++) {
      const procs = processesUsing(roots);
      if (procs.length === 0) break;
      for (const p of procs) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      execFileSync('sleep', ['0.2']);
    }
    if (ownNetns) netns.destroy(); // kills what is left in the daemon's namespace (containerd, shims, conmon)
    for (const mp of mountsUnder(roots)) {
      try {
        execFileSync('umount', [mp], { stdio: 'ignore' });
      } catch {
        try {
          execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
        } catch (e) {
          errors.push(`umount ${mp}: ${e}`);
        }
      }
    }
    for (const dir of roots) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch (e) {
        errors.push(`rm -rf ${dir}: ${e}`);
      }
    }
    return errors;
  };

  const handle = {
    emergency: () => {
      if (!stopped) {
        stopped = true;
        teardownSync();
      }
    },
  };

  // Every 64-hex id the daemon hands out through this harness: after stop, none of them may still
  // have a cgroup (the daemon's API cannot be asked afterwards).
  const seenIds = new Set<string>();
  const harvest = (text: string) => {
    for (const m of text.matchAll(/\b[0-9a-f]{64}\b/g)) seenIds.add(m[0]);
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await apiRequest(socket, method, path, body);
    harvest(r.text);
    return r;
  };
  const cli = async (cmd: string, args: string[], o: CmdOptions) => {
    const r = await runCmd(cmd, args, { ...o, env: { ...env, ...o.env } });
    harvest(r.stdout);
    return r;
  };

  const daemon: Daemon = {
    kind,
    netns,
    socket,
    host,
    dataRoot,
    execRoot,
    logFile,
    env,
    docker: (args, o = {}) => cli(DOCKER_CLI, args, o),
    async dockerOk(args) {
      const r = await cli(DOCKER_CLI, args, {});
      assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}\n${daemon.logTail(10)}`);
      return r.stdout.trim();
    },
    weft: (args, o = {}) => cli(process.execPath, [WEFT_CLI, ...args], o),
    api,
    logTail: (n = 40) => tail(logFile, n),
    pid: () => (st.child?.pid && !st.exited ? st.child.pid : undefined),
    lastStartupMs: NaN,
    async kill9() {
      await killDaemon('SIGKILL', 5000);
    },
    async restart(extraEnv) {
      if (stopped) throw new Error('restart() after stop()');
      if (extraEnv) {
        // The previous restart's env is replaced too, not only StartOptions.daemonEnv (a test
        // arming a fault for one restart must be able to start the next one without it).
        for (const k of Object.keys(lastEnv)) {
          if (k in process.env) daemonEnv[k] = process.env[k];
          else delete daemonEnv[k];
        }
        Object.assign(daemonEnv, extraEnv);
        lastEnv = { ...extraEnv };
      }
      await killDaemon('SIGTERM', 15_000);
      await killDaemon('SIGKILL', 5000);
      if (kind === 'docker') await forgetDeadContainerd(execRoot);
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const errors: string[] = [];
      const netnsName = netns.name;
      const wasRunning = !!(st.child?.pid && !st.exited);
      let logTail = '';
      try {
        if (wasRunning) {
          // Remove every container through the API while the daemon still runs.
          try {
            const list = await apiRequest(socket, 'GET', '/containers/json?all=1', undefined, 10_000);
            harvest(list.text);
            if (list.status === 200 && Array.isArray(list.json)) {
              await Promise.all(
                list.json.map(async (c: { Id: string }) => {
                  const r = await apiRequest(socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`, undefined, 20_000).catch((e) => ({ status: 0, text: String(e) }));
                  // 409 "already in progress": the daemon is removing it itself (--rm); the leak checks below still see it.
                  const removing = r.status === 409 && /already in progress/.test(r.text);
                  if (r.status !== 204 && r.status !== 404 && !removing) errors.push(`DELETE /containers/${c.Id.slice(0, 12)}: ${r.status} ${r.text.trim()}`);
                }),
              );
            } else {
              errors.push(`GET /containers/json: ${list.status} ${list.text.trim()}`);
            }
          } catch (e) {
            errors.push(`removing containers: ${e}`);
          }
          // A swarm member keeps its etcd (weft) or raft state (dockerd) across restarts, as
          // containers are kept: leave the swarm through the API, so that the daemon ends them.
          await leaveSwarm(socket).catch((e) => errors.push(`leaving the swarm: ${e}`));
          await killDaemon('SIGTERM', 15_000);
          if (!st.exited) errors.push(`${kind} daemon ignored SIGTERM for 15 s, SIGKILLed`);
          await killDaemon('SIGKILL', 5000);
        }
        // Leaks the daemon itself should have cleaned up (checked before we sweep; only when it
        // was running, since after kill9() its containers and shims are expected to remain).
        let leftProcs = processesUsing(roots);
        for (let i = 0; i < 30 && leftProcs.length; i++) {
          await sleep(100);
          leftProcs = processesUsing(roots);
        }
        if (wasRunning && leftProcs.length) errors.push(`processes left running after the daemon stopped:\n  ${leftProcs.map((p) => `${p.pid} ${p.what}`).join('\n  ')}`);
        if (wasRunning) {
          const cg = cgroupsLeft(seenIds);
          if (cg.length) errors.push(`container cgroups left after the daemon stopped: ${cg.join(', ')}`);
        }
      } finally {
        logTail = tail(logFile, 20);
        // weftd's safety net logs every error no request handled: each is a bug, and must not hide.
        if (kind === 'weft') {
          const stray = readLog(logFile).split('\n').filter((l) => l.includes('"safetyNet":'));
          if (stray.length) errors.push(`weftd's safety net caught ${stray.length} stray error(s):\n  ${stray.slice(0, 5).join('\n  ')}`);
        }
        errors.push(...teardownSync());
        for (const p of cgroupsLeft(seenIds)) {
          try {
            rmdirSync(p); // fails while it still holds processes
          } catch (e) {
            errors.push(`cgroup ${p} could not be removed: ${e}`);
          }
        }
        live.delete(handle);
      }
      // Final leak check: nothing of ours may remain.
      const procs = processesUsing(roots);
      if (procs.length) errors.push(`processes still alive after teardown: ${procs.map((p) => `${p.pid} ${p.what}`).join('; ')}`);
      const mounts = mountsUnder(roots);
      if (mounts.length) errors.push(`mounts still present: ${mounts.join(', ')}`);
      if (ownNetns && netnsExists(netnsName)) errors.push(`network namespace ${netnsName} still exists`);
      for (const dir of roots) if (existsSync(dir)) errors.push(`directory ${dir} still exists`);
      if (errors.length) {
        throw new Error(`${kind} daemon teardown found problems:\n- ${errors.join('\n- ')}\nlog tail:\n${logTail}`);
      }
    },
  };

  live.add(handle);
  try {
    await launch();
    if (kind !== 'weft') await importImages(daemon, opts.images ?? ['alpine', 'busybox']);
  } catch (err) {
    const log = tail(logFile);
    stopped = true;
    live.delete(handle);
    teardownSync();
    if (err instanceof Error && !err.message.includes('log ')) err.message += `\ndaemon log:\n${log}`;
    throw err;
  }
  return daemon;
}

/** POST /swarm/leave?force=1 when the daemon is in a swarm; 503 (not in one) is fine. */
async function leaveSwarm(socket: string): Promise<void> {
  const info = await apiRequest(socket, 'GET', '/info', undefined, 10_000).catch(() => undefined);
  const state = info?.json?.Swarm?.LocalNodeState;
  if (!state || state === 'inactive') return;
  const r = await apiRequest(socket, 'POST', '/swarm/leave?force=1', undefined, 30_000);
  if (r.status !== 200 && r.status !== 503) throw new Error(`POST /swarm/leave?force=1: ${r.status} ${r.text.trim()}`);
}

/**
 * dockerd's containerd dies with it (pdeathsig), but pid 1 on these machines is slow to reap
 * orphans: the zombie keeps containerd.pid "alive", a restarted dockerd then waits on a dead
 * socket and fails with "timeout waiting for containerd to start". Drop the pidfile of a dead
 * or zombie containerd so that dockerd starts a fresh one.
 */
async function forgetDeadContainerd(execRoot: string): Promise<void> {
  const pidFile = join(execRoot, 'containerd/containerd.pid');
  for (let i = 0; i < 20; i++) {
    let pid: number;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      return;
    }
    let state = '';
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
    } catch {
      state = 'gone';
    }
    if (state === 'gone' || state === 'Z' || state === 'X') {
      rmSync(pidFile, { force: true });
      return;
    }
    await sleep(100); // still shutting down
  }
}

async function importImages(d: Daemon, names: string[]): Promise<void> {
  // podman loses one of two concurrent imports (both report success), so import one by one there.
  const each = <T>(xs: string[], fn: (x: string) => Promise<T>) =>
    d.kind === 'podman' ? xs.reduce<Promise<unknown>>((p, x) => p.then(() => fn(x)), Promise.resolve()) : Promise.all(xs.map(fn));
  await each(
    names,
    async (name) => {
      const changes: string[] = [];
      try {
        const cfg = JSON.parse(readFileSync(join(IMAGES_DIR, `${name}.json`), 'utf8')) as { Cmd?: string[]; Env?: string[] };
        for (const e of cfg.Env ?? []) changes.push('--change', `ENV ${e}`);
        changes.push('--change', `CMD ${JSON.stringify(cfg.Cmd ?? ['/bin/sh'])}`);
      } catch {
        changes.push('--change', 'CMD ["/bin/sh"]');
      }
      const r = await d.docker(['import', ...changes, join(IMAGES_DIR, `${name}.tar`), name]);
      if (r.code !== 0) throw new Error(`docker import ${name} failed (${r.code}): ${r.stderr}`);
    },
  );
}

/** Starts a daemon and registers its stop() with node:test's t.after / after hooks. */
export async function withDaemon(kind: DaemonKind, after: (fn: () => Promise<void>) => void, opts?: StartOptions): Promise<Daemon> {
  const d = await startDaemon(kind, opts);
  after(() => d.stop());
  return d;
}
