import type { Logger } from '../common/log.js';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkDriver } from '../drivers/driver.js';
import { Ipam } from '../ipam/allocator.js';
import type { Kernel } from '../kernel/kernel.js';
import type { ImageStore } from '../runtime/images.js';
import type { Runtime } from '../runtime/types.js';
import { openDatabase } from '../store/db.js';
import { ConnectionService } from './connections.js';
import { ContainerService } from './containers.js';
import { Serial } from './lock.js';
import { NetworkService } from './networks.js';
import { Registry } from './registry.js';
import { SandboxService } from './sandbox.js';
import { ensurePredefinedNetworks, type DefaultBridgeOptions } from './predefined.js';
import { ExecService } from './exec.js';
import type { ResolvInput } from './containerFiles.js';
import type { ContainerRecord, EndpointRecord } from '../common/model.js';
import { nowRfc3339Nano } from '../common/time.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  defaultBridge: DefaultBridgeOptions;
  defaultAddressPools: { base: string; size: number }[] | undefined;
  dns: string[];
  kernel: Kernel;
  drivers: NetworkDriver[];
  makeRuntime: (db: Registry['db']) => { runtime: Runtime; images: ImageStore };
  hostRoutes: () => string[];
  log: Logger;
  resolvFor?: (c: ContainerRecord) => ResolvInput | null;
}

// The composition root of the engine: records, IPAM, drivers, sandboxes and containers, wired once.
export class Engine {
  readonly registry: Registry;
  readonly ipam: Ipam;
  readonly serial = new Serial();
  readonly networks: NetworkService;
  readonly sandboxes: SandboxService;
  readonly containers: ContainerService;
  readonly connections: ConnectionService;
  readonly execs: ExecService;
  readonly runtime: Runtime;
  readonly images: ImageStore;

  constructor(readonly opts: EngineOptions) {
    mkdirSync(join(opts.execRoot, 'netns'), { recursive: true });
    this.registry = new Registry(openDatabase(opts.dataRoot));
    this.ipam = new Ipam(opts.defaultAddressPools);
    const { runtime, images } = opts.makeRuntime(this.registry.db);
    this.runtime = runtime;
    this.images = images;
    const drivers = new Map(opts.drivers.map((d) => [d.name, d]));
    const log = opts.log;
    this.networks = new NetworkService({ registry: this.registry, ipam: this.ipam, drivers, serial: this.serial, hostRoutes: opts.hostRoutes, log });
    this.sandboxes = new SandboxService({ registry: this.registry, ipam: this.ipam, networks: this.networks, kernel: opts.kernel, execRoot: opts.execRoot, log });
    this.containers = new ContainerService({
      registry: this.registry,
      runtime,
      images,
      sandboxes: this.sandboxes,
      serial: this.serial,
      dataRoot: opts.dataRoot,
      dns: opts.dns,
      log,
      resolvFor: (c) => opts.resolvFor?.(c) ?? null,
    });
    this.connections = new ConnectionService({ registry: this.registry, sandboxes: this.sandboxes, containers: this.containers, serial: this.serial });
    this.execs = new ExecService(this.registry, runtime);
  }

  /** Brings the kernel back in line with the store: the daemon may have been killed at any point. */
  async start(): Promise<void> {
    const { registry, ipam, opts } = this;
    for (const net of registry.networks.all()) {
      if (net.ipam.config.length) {
        const userConfigured = { v4: net.userSubnets, v6: net.userSubnets };
        ipam.restorePools(net.id, { name: net.name, config: net.ipam.config, enableIPv6: net.enableIPv6, userConfigured });
      }
    }
    for (const ep of registry.endpoints.all()) {
      if (ep.ipv4) ipam.markAllocated(ep.networkId, ep.ipv4);
      if (ep.ipv6) ipam.markAllocated(ep.networkId, ep.ipv6);
    }
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
        registry.containers.put(c);
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
      if (!registry.containers.byId.has(ep.containerId)) registry.endpoints.delete(ep.id);
    }
    await this.restoreDrivers();
    await ensurePredefinedNetworks(this, opts.defaultBridge);
    this.removeOrphanNetns(new Set(running.map((id) => this.sandboxes.netnsPathFor(registry.containers.byId.get(id)!))));
    await this.runtime.recover(running);
    opts.log.info({ networks: registry.networks.byId.size, containers: registry.containers.byId.size, running: running.length }, 'engine reconciled');
  }

  private async reapLostRun(c: ContainerRecord): Promise<void> {
    const st = await this.runtime.abandon(c.id).catch((err: unknown) => {
      this.opts.log.warn({ container: c.name, err: String(err) }, 'could not end a lost run');
      return null;
    });
    if (c.state.status !== 'running' && st?.startedAt && st.startedAt !== c.state.startedAt) {
      c.state = { ...c.state, status: 'exited', pid: 0, exitCode: 255, startedAt: st.startedAt, finishedAt: nowRfc3339Nano(), error: '' };
      this.registry.containers.put(c);
      this.opts.log.warn({ container: c.name, id: c.id }, 'a start was cut short by a daemon crash: container marked exited');
    }
  }

  private async restoreDrivers(): Promise<void> {
    const { registry } = this;
    // Drivers own disjoint kernel objects: they restore side by side.
    await Promise.all(
      this.opts.drivers.map((driver) => {
        const nets = registry.networks.all().filter((n) => n.driver === driver.name);
        const eps = new Map<string, { ep: EndpointRecord; netnsPath: string }[]>();
        for (const net of nets) {
          eps.set(
            net.id,
            registry.endpointsOfNetwork(net.id).map((ep) => ({ ep, netnsPath: registry.containers.byId.get(ep.containerId)?.netnsPath ?? '' })),
          );
        }
        // A driver that cannot restore everything must not keep the daemon down: what it could not
        // mend is logged, and the rest of the kernel state is in place.
        return driver.restore(nets, eps).catch((err: unknown) => this.opts.log.error({ driver: driver.name, err: String(err) }, 'restore incomplete'));
      }),
    );
  }

  private removeOrphanNetns(keep: Set<string>): void {
    const dir = join(this.opts.execRoot, 'netns');
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!keep.has(path)) void this.opts.kernel.deleteNetns(path).catch(() => undefined);
    }
  }
}
