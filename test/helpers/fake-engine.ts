import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { DriverRegistry, type DriverCapabilities, type EndpointUpdate, type NetworkDriver } from '../../src/drivers/driver.js';
import { Engine } from '../../src/engine/engine.js';
import { DefaultIpam, IpamRegistry, NullIpam } from '../../src/ipam/index.js';
import type { ImageStore } from '../../src/runtime/images.js';
import type { ContainerStatus, Runtime } from '../../src/runtime/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { fakeKernel } from './fake-kernel.js';

// An engine with fake drivers, the fake kernel (fake-kernel.ts) and a fake runtime, for unit tests of the services:
// the records, IPAM, events and the order of driver calls are real; nothing touches the kernel.

export type DriverCall = { op: 'prepare' | 'create' | 'delete' | 'join' | 'leave' | 'restore'; network: string; endpoint?: EndpointRecord; defaultRoute?: boolean };

/** A driver that records what it is asked, with the capabilities given. */
export class FakeDriver implements NetworkDriver {
  readonly calls: DriverCall[] = [];
  /** Throw from the next call of this op (once). */
  failNext: DriverCall['op'] | null = null;

  constructor(
    readonly name: string,
    readonly capabilities: DriverCapabilities,
  ) {}

  private record(call: DriverCall): void {
    this.calls.push(call);
    if (this.failNext === call.op) {
      this.failNext = null;
      throw new Error(`${this.name}: ${call.op} failed (as the test asked)`);
    }
  }

  async prepareNetwork(net: NetworkRecord): Promise<Record<string, string>> {
    this.record({ op: 'prepare', network: net.name });
    return { prepared: 'yes' };
  }
  async createNetwork(net: NetworkRecord): Promise<void> {
    this.record({ op: 'create', network: net.name });
  }
  async deleteNetwork(net: NetworkRecord): Promise<void> {
    this.record({ op: 'delete', network: net.name });
  }
  async join(net: NetworkRecord, ep: EndpointRecord, _netns: string, opts: { defaultRoute: boolean }): Promise<void | EndpointUpdate> {
    this.record({ op: 'join', network: net.name, endpoint: ep, defaultRoute: opts.defaultRoute });
  }
  async leave(net: NetworkRecord, ep: EndpointRecord): Promise<void> {
    this.record({ op: 'leave', network: net.name, endpoint: ep });
  }
  async restore(nets: NetworkRecord[]): Promise<void> {
    for (const n of nets) this.record({ op: 'restore', network: n.name });
  }
}

export const BRIDGE_LIKE: DriverCapabilities = { scope: 'local', ipam: true, singleton: false, publishesPorts: true, dns: 'listener', sandbox: 'interface' };

/** Containers that "run" until killed; an exit is reported on the next turn, as conmon's would be. */
export class FakeRuntime extends EventEmitter {
  readonly running = new Set<string>();
  async create(): Promise<void> {}
  async start(id: string): Promise<ContainerStatus> {
    this.running.add(id);
    return { running: true, pid: 4242, exitCode: null, startedAt: new Date().toISOString(), finishedAt: null };
  }
  async kill(id: string, signal: string): Promise<void> {
    if (!this.running.delete(id)) throw new Error('not running');
    setImmediate(() => this.emit('exit', id, signal === 'SIGKILL' || signal === '9' ? 137 : 143));
  }
  async status(id: string): Promise<ContainerStatus> {
    return { running: this.running.has(id), pid: 0, exitCode: null, startedAt: null, finishedAt: null };
  }
  async remove(): Promise<void> {}
  cancelAttaches(): void {}
  logPath(id: string): string {
    return `/nowhere/${id}.log`;
  }
  async recover(): Promise<void> {}
}

const IMAGE = { Id: 'sha256:' + 'f'.repeat(64), RepoTags: ['alpine:latest'], Created: 0, Size: 0, Config: { Cmd: ['/bin/sh'] } };
const fakeImages = { resolve: () => IMAGE, inspect: () => IMAGE, list: () => [] } as unknown as ImageStore;

export interface FakeWorld {
  engine: Engine;
  /** The namespaces the fake kernel holds. */
  namespaces: Set<string>;
  runtime: FakeRuntime;
  drivers: DriverRegistry;
  fakes: Record<string, FakeDriver>;
  close(): Promise<void>;
}

/** A started engine with fake bridge/host/null drivers (and any extra ones). */
export async function fakeEngine(extra: FakeDriver[] = []): Promise<FakeWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fake-'));
  const fakes: Record<string, FakeDriver> = {
    bridge: new FakeDriver('bridge', BRIDGE_LIKE),
    host: new FakeDriver('host', { scope: 'local', ipam: false, singleton: true, publishesPorts: false, dns: 'none', sandbox: 'host' }),
    null: new FakeDriver('null', { scope: 'local', ipam: false, singleton: true, publishesPorts: false, dns: 'none', sandbox: 'isolated' }),
  };
  for (const d of extra) fakes[d.name] = d;
  const drivers = new DriverRegistry(Object.values(fakes));
  const { kernel, namespaces } = fakeKernel();
  const runtime = new FakeRuntime();
  const engine = new Engine({
    dataRoot: join(dir, 'data'),
    execRoot: join(dir, 'exec'),
    defaultBridge: { bridgeName: 'weft0', bip: undefined, fixedCidr: undefined, mtu: 1500, icc: true, ipMasq: true, enableIPv6: false, fixedCidrV6: undefined },
    dns: [],
    kernel,
    drivers,
    ipamDrivers: new IpamRegistry([new DefaultIpam(), new NullIpam()]),
    store: new SqliteStore(new Database(':memory:')),
    runtime: runtime as unknown as Runtime,
    images: fakeImages,
    hostRoutes: () => [],
    log: createLogger({ level: 'fatal' }),
  });
  await engine.start();
  return {
    engine,
    namespaces,
    runtime,
    drivers,
    fakes,
    async close() {
      await engine.registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
