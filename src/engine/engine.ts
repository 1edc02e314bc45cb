import type { Logger } from '../common/log.js';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DriverRegistry, FirewallCounts, NetworkDriver } from '../drivers/driver.js';
import { NetworkAddressing, type IpamRegistry } from '../ipam/index.js';
import type { Kernel } from '../kernel/types.js';
import type { ImageStore } from '../runtime/images.js';
import type { Runtime } from '../runtime/types.js';
import type { Store } from '../store/types.js';
import { ConnectionService } from './connections.js';
import { ContainerService } from './containers.js';
import { Serial } from './lock.js';
import { NetworkService, type NetworkCreateRequest } from './networks.js';
import { Registry } from './registry.js';
import { SandboxService } from './sandbox.js';
import { ensurePredefinedNetworks, type DefaultBridgeOptions } from './predefined.js';
import { ExecService } from './exec.js';
import { EventBus } from './events/index.js';
import type { ResolvInput } from '../dns/resolv.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { nowRfc3339Nano } from '../common/time.js';
import { dropContainersWithoutRuntime, settleConnections, type RecoveryDeps } from './recovery.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  defaultBridge: DefaultBridgeOptions;
  dns: string[];
  kernel: Kernel;
  /** Built-in drivers, and the resolvers that activate others (plugins) at their first use. */
  drivers: DriverRegistry;
  /** IPAM drivers (default and null built in; plugins activated at their first use). */
  ipamDrivers: IpamRegistry;
  /** Where records are kept (local scope). */
  store: Store;
  runtime: Runtime;
  images: ImageStore;
  hostRoutes: () => string[];
  log: Logger;
  resolvFor?: (c: ContainerRecord) => ResolvInput | null;
  /** Activated plugins in Docker's types.Plugin shape (GET /plugins); absent: none. */
  plugins?: () => Record<string, unknown>[];
}

export const GWBRIDGE = 'docker_gwbridge';

/** Docker's docker_gwbridge: a bridge of that name, no ICC, masqueraded (libnetwork default_gateway_linux.go). */
export function gatewayBridgeRequest(): NetworkCreateRequest {
  return {
    Name: GWBRIDGE,
    Driver: 'bridge',
    Options: { 'com.docker.network.bridge.name': GWBRIDGE, 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'true' },
    IPAM: { Driver: 'default', Config: [], Options: null },
  };
}

/** How long the start waits for the drivers (plugins) of stored networks. */
const ACTIVATION_WAIT_MS = 3000;

// The composition root of the engine: records, IPAM, drivers, sandboxes and containers, wired once.
export class Engine {
  readonly registry: Registry;
  readonly ipam = new NetworkAddressing();
  readonly serial = new Serial();
  readonly events: EventBus;
  readonly networks: NetworkService;
  readonly sandboxes: SandboxService;
  readonly containers: ContainerService;
  readonly connections: ConnectionService;
  readonly execs: ExecService;
  readonly runtime: Runtime;
  readonly images: ImageStore;

  constructor(readonly opts: EngineOptions) {
    mkdirSync(join(opts.execRoot, 'netns'), { recursive: true });
    this.registry = new Registry(opts.store);
    const { runtime, images } = opts;
    this.runtime = runtime;
    this.images = images;
    const drivers = opts.drivers;
    const log = opts.log;
    const events = (this.events = new EventBus(log));
    this.networks = new NetworkService({ registry: this.registry, ipam: this.ipam, drivers, serial: this.serial, hostRoutes: opts.hostRoutes, ipamDrivers: opts.ipamDrivers, events, log });
    this.sandboxes = new SandboxService({
      registry: this.registry,
      ipam: this.ipam,
      networks: this.networks,
      kernel: opts.kernel,
      execRoot: opts.execRoot,
      events,
      log,
      gatewayBridge: () => this.gatewayBridge(),
    });
    // Global networks other hosts make or remove reach this one through the cluster store's
    // watch: followers (the embedded DNS) hear of them by internal events, IPAM forgets the removed.
    this.registry.networks.onRemote((c) => {
      if (c.type === 'delete') this.networks.forgetPools(c.doc.id);
      events.emit({ type: 'network', action: c.type === 'put' ? 'update' : 'forgotten', network: c.doc });
    });
    this.containers = new ContainerService({
      registry: this.registry,
      runtime,
      images,
      sandboxes: this.sandboxes,
      serial: this.serial,
      events,
      dataRoot: opts.dataRoot,
      dns: opts.dns,
      log,
      resolvFor: (c) => opts.resolvFor?.(c) ?? null,
    });
    this.connections = new ConnectionService({ registry: this.registry, sandboxes: this.sandboxes, containers: this.containers, serial: this.serial });
    this.execs = new ExecService(this.registry, runtime);
  }

  /**
   * docker_gwbridge, the way out of overlay containers (libnetwork's default gateway network):
   * made at the first need if swarm init/join did not make it. Called inside the serial section.
   */
  async gatewayBridge(): Promise<NetworkRecord> {
    const found = this.registry.networks.all().find((n) => n.name === GWBRIDGE && n.scope === 'local');
    return found ?? this.networks.createInSection(gatewayBridgeRequest());
  }

  /** Brings the kernel back in line with the store: the daemon may have been killed at any point. */
  async start(): Promise<void> {
    const { registry, ipam, opts } = this;
    await registry.load();
    await this.activateDrivers();
    for (const net of registry.networks.all()) {
      // An IPAM driver that cannot answer now (a plugin not running) must not keep the daemon
      // down: the network's pools are replayed at its next use (NetworkService.ensurePools).
      if (net.ipam.config.length && !opts.ipamDrivers.get(net.ipam.driver || 'default')) {
        opts.log.error({ network: net.name, ipam: net.ipam.driver }, 'pools not restored: IPAM driver not available yet');
        continue;
      }
      await this.networks.restorePools(net).catch((err: unknown) => opts.log.error({ network: net.name, ipam: net.ipam.driver, err: String(err) }, 'pools not restored'));
    }
    for (const ep of registry.endpoints.all()) {
      // Endpoints of global networks: their network and addresses are the cluster store's, known
      // once it is attached (their claims are replayed then, by the next join).
      if (!ipam.has(ep.networkId)) continue;
      const mark = (addr: string) => ipam.markAllocated(ep.networkId, addr).catch((err: unknown) => opts.log.error({ endpoint: ep.id, err: String(err) }, 'address not restored'));
      if (ep.ipv4) await mark(ep.ipv4);
      if (ep.ipv6) await mark(ep.ipv6);
    }
    const recovery: RecoveryDeps = { registry, runtime: this.runtime, sandboxes: this.sandboxes, containers: this.containers, log: opts.log };
    await dropContainersWithoutRuntime(recovery);
    const running: string[] = [];
    for (const c of registry.containers.all()) {
      // Only a container recorded as running can have changed while the daemon was down.
      const st = c.state.status === 'running' ? await this.runtime.status(c.id).catch(() => null) : null;
      if (c.state.status === 'running' && st?.running) {
        running.push(c.id);
        continue;
      }
      if (c.state.status === 'running') {
        c.state = { ...c.state, status: 'exited', pid: 0, exitCode: st?.exitCode ?? 255, finishedAt: st?.finishedAt ?? c.state.finishedAt };
        await registry.containers.put(c);
      }
      // A sandbox on a container not running means a start (or an exit) was under way when the
      // daemon died: the runtime may run a process the record does not know of. Nobody owns that
      // run; it is ended, and the container is exited if it had started.
      if (c.netnsPath || registry.endpointsOfContainer(c.id).length) {
        await this.reapLostRun(c);
        await this.sandboxes.tearDown(c);
      }
    }
    for (const ep of registry.endpoints.all()) {
      if (!registry.containers.byId.has(ep.containerId)) await registry.endpoints.delete(ep.id);
    }
    await this.restoreDrivers();
    await ensurePredefinedNetworks(this, opts.defaultBridge);
    await settleConnections(recovery, running.map((id) => registry.containers.byId.get(id)!));
    this.removeOrphanNetns(new Set(running.map((id) => this.sandboxes.netnsPathFor(registry.containers.byId.get(id)!))));
    await this.runtime.recover(running);
    this.rewriteFilesOnLateDrivers();
    opts.log.info({ networks: registry.networks.byId.size, containers: registry.containers.byId.size, running: running.length }, 'engine reconciled');
  }

  /**
   * Drivers of stored networks that are not built in (plugins) are activated before anything is
   * restored; one that cannot be found leaves its networks as they are, to be restored at its first use.
   */
  private async activateDrivers(): Promise<void> {
    const nets = this.registry.networks.all();
    const missing: string[] = [];
    // A plugin whose socket refuses is waited for up to its call deadline; the start waits a few
    // seconds at most (what answers later is registered then).
    const within = <T>(p: Promise<T>) => Promise.race([p.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), ACTIVATION_WAIT_MS).unref())]);
    await Promise.all([
      ...[...new Set(nets.map((n) => n.driver))].map(async (name) => {
        if (!(await within(this.opts.drivers.resolve(name)))) missing.push(name);
      }),
      ...[...new Set(nets.map((n) => n.ipam.driver || 'default'))].map((name) => within(this.opts.ipamDrivers.resolve(name))),
    ]);
    if (missing.length) this.retryDrivers(missing);
  }

  /**
   * A container's resolv.conf depends on its networks' drivers (which ones the embedded DNS
   * listens on): files written while a driver was missing (a plugin not up when the daemon
   * restarted) are written again once it registers.
   */
  private rewriteFilesOnLateDrivers(): void {
    let started = false;
    this.opts.drivers.onRegister((d) => {
      if (!started) return; // those registered already: the files were written with them
      for (const c of this.registry.containers.all()) {
        if (c.state.status !== 'running' || !c.networks.some((a) => this.registry.networks.byId.get(a.networkId)?.driver === d.name)) continue;
        try {
          this.containers.writeFiles(c);
        } catch (err) {
          this.opts.log.warn({ container: c.name, err: String(err) }, 'could not rewrite the container files');
        }
      }
    });
    started = true;
  }

  /**
   * Drivers of stored networks that could not be had at start are asked for again every few
   * seconds while networks still use them, so that a plugin started after the daemon serves its
   * networks (DNS included) without waiting for their next use.
   */
  private retryDrivers(names: string[]): void {
    let left = names;
    const timer = setInterval(() => {
      void (async () => {
        const inUse = new Set(this.registry.networks.all().map((n) => n.driver));
        const still: string[] = [];
        for (const name of left) {
          if (!inUse.has(name) || this.opts.drivers.get(name)) continue;
          if (!(await this.opts.drivers.resolve(name).catch(() => null))) still.push(name);
        }
        left = still;
        if (!left.length) clearInterval(timer);
      })();
    }, 3000);
    timer.unref();
  }

  private async reapLostRun(c: ContainerRecord): Promise<void> {
    const st = await this.runtime.abandon(c.id).catch((err: unknown) => {
      this.opts.log.warn({ container: c.name, err: String(err) }, 'could not end a lost run');
      return null;
    });
    if (c.state.status !== 'running' && st?.startedAt && st.startedAt !== c.state.startedAt) {
      c.state = { ...c.state, status: 'exited', pid: 0, exitCode: 255, startedAt: st.startedAt, finishedAt: nowRfc3339Nano(), error: '' };
      await this.registry.containers.put(c);
      this.opts.log.warn({ container: c.name, id: c.id }, 'a start was cut short by a daemon crash: container marked exited');
    }
  }

  private async restoreDrivers(): Promise<void> {
    // Drivers own disjoint kernel objects: they restore side by side.
    await Promise.all(
      this.opts.drivers.all().map((driver) => {
        const { nets, eps } = this.recordsOf(driver);
        // A driver that cannot restore everything must not keep the daemon down: what it could not
        // mend is logged, and the rest of the kernel state is in place.
        return driver.restore(nets, eps).catch((err: unknown) => this.opts.log.error({ driver: driver.name, err: String(err) }, 'restore incomplete'));
      }),
    );
  }

  /**
   * Puts every driver's firewall state back from the records (the ruleset was flushed or
   * rewritten by someone else, or `weft system firewall-reload`). Runs between engine
   * operations, so the records it reads are the ones in the kernel.
   */
  reloadFirewall(): Promise<FirewallCounts> {
    return this.serial.run(async () => {
      const total: FirewallCounts = { networks: 0, ports: 0 };
      for (const driver of this.opts.drivers.all()) {
        if (!driver.reloadFirewall) continue;
        const { nets, eps } = this.recordsOf(driver);
        const n = await driver.reloadFirewall(nets, eps);
        total.networks += n.networks;
        total.ports += n.ports;
      }
      return total;
    });
  }

  /** A driver's networks and their endpoints with sandbox paths: what restore and reloads work from. */
  private recordsOf(driver: NetworkDriver): { nets: NetworkRecord[]; eps: Map<string, { ep: EndpointRecord; netnsPath: string }[]> } {
    const { registry } = this;
    const nets = registry.networks.all().filter((n) => n.driver === driver.name);
    const eps = new Map<string, { ep: EndpointRecord; netnsPath: string }[]>();
    for (const net of nets) {
      eps.set(
        net.id,
        registry.endpointsOfNetwork(net.id).map((ep) => ({ ep, netnsPath: registry.containers.byId.get(ep.containerId)?.netnsPath ?? '' })),
      );
    }
    return { nets, eps };
  }

  private removeOrphanNetns(keep: Set<string>): void {
    const dir = join(this.opts.execRoot, 'netns');
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!keep.has(path)) void this.opts.kernel.deleteNetns(path).catch(() => undefined);
    }
  }
}
