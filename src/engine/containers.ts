import { Timeline } from '../common/timeline.js';
import type { Logger } from '../common/log.js';
import { hostname } from 'node:os';
import type { ImageStore } from '../runtime/images.js';
import type { Runtime } from '../runtime/types.js';
import { conflict, invalid, notFound, systemError, WeftError } from '../common/errors.js';
import { fileMounts, writeContainerFiles } from './containerFiles.js';
import { hostResolvers, type ResolvInput } from '../dns/resolv.js';
import { newId } from '../common/ids.js';
import type { Serial } from './lock.js';
import type { ContainerConfig, ContainerRecord } from '../common/model.js';
import { ZERO_TIME } from '../common/model.js';
import { generateName, VALID_CONTAINER_NAME } from './names.js';
import type { Registry } from './registry.js';
import type { SandboxService } from './sandbox.js';
import { nowRfc3339Nano } from '../common/time.js';
import { buildAttachments, type EndpointSettings } from './attachments.js';
import { normalizeLinks, resolveLinks } from './links.js';
import { withoutLink } from '../common/links.js';
import { mergeExposedPorts, validatePortBindings } from './ports.js';
import type { ContainerAction, EventBus } from './events/index.js';
import { signalNumber } from './signals.js';
import { pruneMatcher, type Filters } from './filters.js';
import { containerSecurity, type SecurityHostConfig } from '../runtime/security.js';
import { checkProcess } from '../runtime/oci-spec.js';
import { faultPoint } from '../common/faults.js';

export interface ContainerCreateRequest extends Partial<Omit<ContainerConfig, 'Image'>> {
  Image: string;
  HostConfig?: Record<string, unknown> & SecurityHostConfig & { NetworkMode?: string; AutoRemove?: boolean; Dns?: string[]; DnsSearch?: string[]; DnsOptions?: string[] };
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings | null> | null } | null;
}

export interface ContainerDeps {
  registry: Registry;
  runtime: Runtime;
  images: ImageStore;
  sandboxes: SandboxService;
  serial: Serial;
  events: EventBus;
  dataRoot: string;
  dns: string[]; // daemon-wide --dns
  log: Logger;
  /** Hook for name resolution and files that depend on network membership (DNS issue). */
  resolvFor: (c: ContainerRecord) => ResolvInput | null;
}

type Waiter = { condition: string; resolve: (code: number) => void };

/** How long a SIGKILLed process may take to be reported gone, and how often the runtime is asked meanwhile. */
const KILL_WAIT_MS = 10_000;
const EXIT_POLL_MS = 250;

export class ContainerService {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Signals being sent, per container (see signal()). */
  private readonly signalling = new Map<string, Promise<unknown>>();
  /** Containers being removed: a second remove meanwhile is refused, as dockerd does. */
  private readonly removing = new Set<string>();

  constructor(private readonly deps: ContainerDeps) {
    deps.runtime.on('exit', (id: string, code: number) => {
      void this.onExit(id, code);
    });
  }

  async create(req: ContainerCreateRequest, requestedName: string | undefined): Promise<ContainerRecord> {
    const { registry, images } = this.deps;
    if (!req.Image) throw invalid('Config cannot be empty in order to create a container');
    const image = images.resolve(req.Image);
    let name = requestedName ?? '';
    if (name) {
      if (!VALID_CONTAINER_NAME.test(name)) throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
      const owner = registry.containers.all().find((c) => c.name === name);
      if (owner) {
        throw nameInUse(name, owner.id);
      }
    } else {
      name = generateName((n) => registry.containers.all().some((c) => c.name === n));
    }
    const hostConfig = req.HostConfig ?? {};
    validatePortBindings(hostConfig);
    const security = containerSecurity(hostConfig);
    const { networkMode, attachments } = buildAttachments(registry, (n) => this.deps.sandboxes.kindOf(n), hostConfig.NetworkMode, req.NetworkingConfig?.EndpointsConfig ?? null);
    const sharesHost = this.deps.sandboxes.kind({ networks: attachments }) === 'host';
    const imageConfig = images.inspect(image.Id).Config ?? {};
    const id = newId();
    const config: ContainerConfig = {
      Hostname: req.Hostname || (sharesHost ? '' : id.slice(0, 12)),
      Domainname: req.Domainname ?? '',
      User: req.User ?? '',
      AttachStdin: Boolean(req.AttachStdin),
      AttachStdout: req.AttachStdout ?? true,
      AttachStderr: req.AttachStderr ?? true,
      ExposedPorts: mergeExposedPorts(imageConfig.ExposedPorts, req.ExposedPorts),
      Tty: Boolean(req.Tty),
      OpenStdin: Boolean(req.OpenStdin),
      StdinOnce: Boolean(req.StdinOnce),
      Env: [...(imageConfig.Env ?? []), ...(req.Env ?? [])],
      Cmd: req.Cmd ?? (req.Entrypoint ? null : (imageConfig.Cmd ?? null)),
      Image: req.Image,
      Volumes: null,
      WorkingDir: req.WorkingDir ?? '',
      Entrypoint: req.Entrypoint ?? imageConfig.Entrypoint ?? null,
      Labels: req.Labels ?? {},
    };
    const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    if (args.length === 0) throw invalid('No command specified');
    checkProcess(config.Env, config.WorkingDir);
    const c: ContainerRecord = {
      id,
      name,
      created: nowRfc3339Nano(),
      imageId: image.Id,
      config,
      hostConfig: { ...hostConfig, NetworkMode: hostConfig.NetworkMode || 'default', ...securityOptsShown(hostConfig) },
      networkMode,
      networks: attachments,
      state: { status: 'created', pid: 0, exitCode: 0, startedAt: ZERO_TIME, finishedAt: ZERO_TIME, error: '' },
      netnsPath: '',
      restartCount: 0,
    };
    // Legacy links are registered off user-defined networks only, as dockerd's registerLinks does;
    // on those the CLI sends --link as the endpoint's Links too (a DNS alias: links.ts endpointLinks).
    const links = (hostConfig as { Links?: string[] | null }).Links;
    const userDefined = !registry.networks.byId.get(attachments[0].networkId)?.predefined;
    if (links?.length) c.hostConfig.Links = userDefined ? null : normalizeLinks(registry, c, links);
    await registry.containers.put(c);
    faultPoint('container.create.after-record');
    try {
      await this.deps.runtime.create({
        id,
        name,
        imageId: image.Id,
        args,
        env: config.Env,
        cwd: config.WorkingDir || '/',
        user: config.User,
        tty: config.Tty,
        openStdin: config.OpenStdin,
        hostname: config.Hostname || hostname(),
        netns: sharesHost ? 'host' : this.deps.sandboxes.netnsPathFor(c),
        files: sharesHost ? {} : fileMounts(this.deps.dataRoot, id),
        security,
      });
    } catch (err) {
      await registry.containers.delete(id);
      throw err;
    }
    this.deps.log.info({ container: name, id }, 'container created');
    this.announce('create', c);
    return c;
  }

  /** Returns false when the container was already running (Docker answers 304). */
  async start(ref: string): Promise<boolean> {
    try {
      return await this.startLocked(ref);
    } catch (err) {
      // As in Docker, a --rm container that cannot start is removed (the CLI waits for that).
      const c = this.deps.registry.lookupContainer(ref);
      if (c?.hostConfig.AutoRemove && c.state.status !== 'running') await this.remove(c.id, true).catch(() => undefined);
      throw err;
    }
  }

  private startLocked(ref: string): Promise<boolean> {
    return this.deps.serial.run(async () => {
      const c = this.deps.registry.findContainer(ref);
      if (c.state.status === 'running') return false;
      const t = new Timeline();
      try {
        const links = resolveLinks(this.deps.registry, c, true);
        await this.deps.sandboxes.setUp(c, t);
        faultPoint('container.start.after-sandbox');
        try {
          this.writeFiles(c);
          t.mark('files');
          const st = await this.deps.runtime.start(c.id, links.env);
          t.mark('runtime');
          faultPoint('container.start.after-runtime');
          c.state = { status: 'running', pid: st.pid, exitCode: 0, startedAt: st.startedAt ?? nowRfc3339Nano(), finishedAt: c.state.finishedAt, error: '' };
          await this.deps.registry.containers.put(c);
          t.mark('record');
          this.announce('start', c);
          t.mark('announce');
          this.deps.log.debug({ id: c.id, steps: t.done() }, 'container start steps');
        } catch (err) {
          await this.deps.sandboxes.tearDown(c);
          c.state = { ...c.state, status: c.state.startedAt === ZERO_TIME ? 'created' : 'exited', error: String((err as Error).message ?? err), exitCode: 128 };
          await this.deps.registry.containers.put(c);
          throw err;
        }
      } catch (err) {
        this.deps.runtime.cancelAttaches(c.id); // `docker run` is attached and waits for the stream to end
        throw err;
      }
      return true;
    });
  }

  /** docker rename: the name changes everywhere it shows (inspect, DNS), the ID stays. */
  rename(ref: string, newName: string): Promise<void> {
    return this.deps.serial.run(async () => {
      const c = this.deps.registry.findContainer(ref);
      const name = newName.replace(/^\//, '');
      if (!name) throw invalid('Neither old nor new names may be empty');
      if (!VALID_CONTAINER_NAME.test(newName)) throw invalid(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      if (name === c.name) throw invalid('Renaming a container with the same name as its current name');
      const owner = this.deps.registry.containers.all().find((o) => o.name === name);
      if (owner) throw conflict(`Error when allocating new name: ${nameInUse(name, owner.id).message}`);
      const oldName = c.name;
      c.name = name;
      await this.deps.registry.containers.put(c);
      this.deps.log.info({ container: name, oldName, id: c.id }, 'container renamed');
      this.announce('rename', c, { oldName: `/${oldName}` });
    });
  }

  writeFiles(c: ContainerRecord): void {
    if (this.deps.sandboxes.kind(c) === 'host') return; // the host's own files, as Docker does
    const hc = c.hostConfig as { Dns?: string[]; DnsSearch?: string[]; DnsOptions?: string[] };
    const embedded = this.deps.resolvFor(c);
    let resolv: ResolvInput;
    if (embedded) {
      // The embedded DNS answers; --dns servers become its upstreams for this container, as in Docker.
      const options = hc.DnsOptions?.length ? [...hc.DnsOptions] : [];
      if (!options.some((o) => o.startsWith('ndots:'))) options.push(...embedded.options.filter((o) => o.startsWith('ndots:')));
      resolv = { nameservers: embedded.nameservers, search: hc.DnsSearch?.length ? hc.DnsSearch : embedded.search, options: hc.DnsOptions?.length ? options : embedded.options };
    } else {
      const base = hostResolvers();
      resolv = {
        nameservers: hc.Dns?.length ? hc.Dns : this.deps.dns.length ? this.deps.dns : base.nameservers,
        search: hc.DnsSearch?.length ? hc.DnsSearch : base.search,
        options: hc.DnsOptions?.length ? hc.DnsOptions : base.options,
      };
    }
    const linkHosts = resolveLinks(this.deps.registry, c, false).hosts;
    writeContainerFiles(this.deps.dataRoot, c, this.deps.registry.endpointsOfContainer(c.id), this.deps.registry.networks.byId, resolv, linkHosts);
  }

  /**
   * `docker rm --link parent/alias` (Docker's rmLink): drops a legacy link; the parent's /etc/hosts
   * loses it at once, its link variables at its next start.
   */
  removeLink(name: string): Promise<void> {
    return this.deps.serial.run(async () => {
      const ref = name.replace(/^\//, '');
      const slash = ref.lastIndexOf('/');
      if (slash < 0) {
        this.deps.registry.findContainer(ref);
        throw systemError('Conflict, cannot remove the default link name of the container');
      }
      const parent = this.deps.registry.containers.all().find((c) => c.name === ref.slice(0, slash));
      const links = parent && withoutLink(parent, ref.slice(slash + 1));
      if (!parent || !links) throw notFound(`No such container: ${ref}`);
      parent.hostConfig.Links = links.length ? links : null;
      await this.deps.registry.containers.put(parent);
      if (parent.state.status === 'running') this.writeFiles(parent);
    });
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.deps.registry.findContainer(ref);
    if (c.state.status !== 'running') throw conflict(`Container ${c.id} is not running`);
    await this.signal(c, signal);
  }

  /**
   * Sends a signal, and tells followers as Docker does (one kill event per signal sent). The exit
   * it causes can be seen before `runc kill` returns: onExit waits for the kill event, so that
   * kill comes before die as in Docker.
   */
  private async signal(c: ContainerRecord, signal: string): Promise<void> {
    const sent = this.deps.runtime.kill(c.id, signal).then(() => this.announce('kill', c, { signal: String(signalNumber(signal)) }));
    const previous = this.signalling.get(c.id);
    const all = Promise.all([previous, sent]).catch(() => undefined);
    this.signalling.set(c.id, all);
    void all.finally(() => {
      if (this.signalling.get(c.id) === all) this.signalling.delete(c.id);
    });
    await sent;
  }

  private announce(action: ContainerAction, container: ContainerRecord, attributes?: Record<string, string>): void {
    this.deps.events.emit({ type: 'container', action, container, attributes });
  }

  /** Returns false when it was not running (Docker answers 304). */
  async stop(ref: string, timeoutSeconds = 10, signal = 'SIGTERM'): Promise<boolean> {
    const c = this.deps.registry.findContainer(ref);
    if (c.state.status !== 'running') return false;
    const exited = this.waitFor(c.id, 'not-running');
    await this.signal(c, signal).catch(() => undefined);
    faultPoint('container.stop.after-signal');
    const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutSeconds * 1000).then(() => true)]);
    if (timedOut) {
      const signalled = await this.signal(c, 'SIGKILL').then(() => true, () => false);
      await this.exitAfterKill(c, exited, signalled);
    }
    this.announce('stop', c);
    return true;
  }

  /** docker restart: stop (if running), start, and Docker's restart event. */
  async restart(ref: string, timeoutSeconds = 10): Promise<void> {
    await this.stop(ref, timeoutSeconds);
    await this.start(ref);
    this.announce('restart', this.deps.registry.findContainer(ref));
  }

  /**
   * Two removes of one container at once both used to answer 204 (and log the removal twice):
   * the second waited for the first's kill, then found nothing to do. dockerd refuses it with
   * 409 "removal of container X is already in progress" (daemon/delete.go); so does weft now.
   */
  async remove(ref: string, force: boolean): Promise<void> {
    const c = this.deps.registry.findContainer(ref);
    if (this.removing.has(c.id)) throw conflict(`removal of container ${ref} is already in progress`);
    this.removing.add(c.id);
    const t = new Timeline();
    try {
      if (c.state.status === 'running') {
        if (!force) throw conflict(`You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
        const exited = this.waitFor(c.id, 'not-running');
        const signalled = await this.signal(c, 'SIGKILL').then(() => true, () => false);
        t.mark('kill');
        faultPoint('container.rm.after-kill');
        await this.exitAfterKill(c, exited, signalled);
        t.mark('exit');
      }
      const removed = await this.deps.serial.run(async () => {
        t.mark('queue');
        if (!this.deps.registry.containers.byId.has(c.id)) return false;
        await this.deps.sandboxes.tearDown(c);
        t.mark('teardown');
        faultPoint('container.rm.after-sandbox');
        await this.deps.runtime.remove(c.id);
        t.mark('runtime');
        faultPoint('container.rm.after-runtime');
        await this.deps.registry.containers.delete(c.id);
        t.mark('record');
        return true;
      });
      if (!removed) return;
    } finally {
      this.removing.delete(c.id);
    }
    this.resolveWaiters(c.id, 'removed', c.state.exitCode);
    this.deps.log.info({ container: c.name, id: c.id }, 'container removed');
    this.deps.log.debug({ id: c.id, steps: t.done() }, 'container remove steps');
    this.announce('destroy', c);
  }

  /** docker container prune: removes every container that is not running; returns their IDs. */
  async prune(filters: Filters): Promise<string[]> {
    const wanted = pruneMatcher(filters);
    const removed: string[] = [];
    for (const c of this.deps.registry.containers.all()) {
      if (c.state.status === 'running' || !wanted(c.created, c.config.Labels ?? {})) continue;
      await this.remove(c.id, false);
      removed.push(c.id);
    }
    return removed;
  }

  /**
   * Waits for the exit a SIGKILL causes, but never unbounded: when the process is gone and nobody
   * reported it (a run a crashed daemon lost), the exit is recorded here. It is gone when the
   * runtime finds no live process, or when runc could not signal it (runc checks the process is
   * its container's own, so a reused pid does not count).
   */
  private async exitAfterKill(c: ContainerRecord, exited: Promise<number>, signalled: boolean): Promise<void> {
    const deadline = Date.now() + KILL_WAIT_MS;
    for (;;) {
      if (await Promise.race([exited.then(() => true), sleep(EXIT_POLL_MS).then(() => false)])) return;
      const st = await this.deps.runtime.status(c.id).catch(() => null);
      if (!signalled || !st?.running) return this.onExit(c.id, st?.exitCode ?? 137);
      if (Date.now() > deadline) throw systemError(`Could not kill running container ${c.id}, cannot remove - tried to kill container, but did not receive an exit event`);
    }
  }

  /** Resolves with the exit code once the condition holds (Docker's /wait conditions); rejects when `signal` aborts. */
  waitFor(id: string, condition: string, signal?: AbortSignal): Promise<number> {
    const c = this.deps.registry.containers.byId.get(id);
    if (!c) return Promise.reject(notFound(`No such container: ${id}`));
    if (!['not-running', 'next-exit', 'removed', ''].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    const cond = condition || 'not-running';
    if (cond === 'not-running' && c.state.status !== 'running') return Promise.resolve(c.state.exitCode);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      const onAbort = () => {
        this.dropWaiter(id, waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        condition: cond,
        resolve: (code) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(code);
        },
      };
      list.push(waiter);
      this.waiters.set(id, list);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private dropWaiter(id: string, waiter: Waiter): void {
    const list = this.waiters.get(id)?.filter((w) => w !== waiter) ?? [];
    if (list.length) this.waiters.set(id, list);
    else this.waiters.delete(id);
  }

  private resolveWaiters(id: string, event: 'exit' | 'removed', code: number): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const keep = list.filter((w) => {
      const fires = event === 'removed' || w.condition !== 'removed';
      if (fires) w.resolve(code);
      return !fires;
    });
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  /** The runtime saw the main process end: record it, free the network, honour --rm. */
  async onExit(id: string, code: number): Promise<void> {
    const t = new Timeline();
    await this.deps.serial.run(async () => {
      t.mark('queue');
      const c = this.deps.registry.containers.byId.get(id);
      if (!c || c.state.status !== 'running') return;
      c.state = { ...c.state, status: 'exited', pid: 0, exitCode: code, finishedAt: nowRfc3339Nano() };
      await this.deps.registry.containers.put(c);
      t.mark('record');
      faultPoint('container.exit.after-record');
      await this.signalling.get(id);
      this.announce('die', c, { exitCode: String(code) });
      t.mark('announce');
      await this.deps.sandboxes.tearDown(c, t);
      this.deps.log.debug({ id, steps: t.done() }, 'container exit steps');
    });
    this.resolveWaiters(id, 'exit', code);
    const c = this.deps.registry.containers.byId.get(id);
    if (c && c.hostConfig.AutoRemove) await this.remove(id, true).catch((err: WeftError) => this.deps.log.warn({ err: err.message }, 'auto-remove failed'));
  }

}

function nameInUse(name: string, ownerId: string) {
  return conflict(`Conflict. The container name "/${name}" is already in use by container "${ownerId}". You have to remove (or rename) that container to be able to reuse that name.`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** HostConfig.SecurityOpt as dockerd stores it: a privileged container also gets label=disable (generateSecurityOpt). */
function securityOptsShown(hc: SecurityHostConfig): { SecurityOpt?: string[] } {
  const opts = hc.SecurityOpt ?? [];
  if (!hc.Privileged || opts.some((o) => o.split('=')[0] === 'label')) return {};
  return { SecurityOpt: [...opts, 'label=disable'] };
}
