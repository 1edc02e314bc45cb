import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../common/log.js';
import { nowRfc3339Nano } from '../common/time.js';
import { parseAddr } from './addr.js';
import type { Cluster, ClusterEvents, ClusterNode } from './cluster.js';
import { keys, openEtcd } from './kv.js';
import { Membership } from './membership.js';
import type { NodeRecord } from './records.js';
import { swarmId } from './tokens.js';

// weftd --cluster-store etcd://h1:2379,h2:2379 --cluster-advertise ADDR: the user's own etcd
// (as dockerd had until 20.10), for overlays without swarm commands. Every node is a peer: it
// writes its record and keeps an alive key on a lease of discovery.ttl seconds, so the others
// learn when it is gone. Its ID is kept under <data-root>/cluster/node-id.

export interface ClusterStoreConfig {
  /** etcd client URLs (https:// when a CA file is given). */
  endpoints: string[];
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** --cluster-advertise: "IP:port" or "interface:port". */
  advertise: string;
  /** discovery.ttl in seconds (default 60, as dockerd). */
  ttlSeconds: number;
}

export interface StoreClusterOptions {
  dataRoot: string;
  store: ClusterStoreConfig;
  engineVersion: string;
  log: Logger;
}

export class StoreCluster extends EventEmitter<ClusterEvents> implements Cluster {
  readonly mode = 'store' as const;
  readonly role = 'none' as const;
  readonly nodeId: string;
  readonly addr: string;
  etcd: Etcd3 | undefined;
  private members: Membership | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: StoreClusterOptions) {
    super();
    const dir = join(opts.dataRoot, 'cluster');
    mkdirSync(dir, { recursive: true });
    const idFile = join(dir, 'node-id');
    if (!existsSync(idFile)) writeFileSync(idFile, swarmId() + '\n');
    this.nodeId = readFileSync(idFile, 'utf8').trim();
    this.addr = parseAddr(opts.store.advertise, 0, 'cluster-advertise').host;
  }

  /** Registers this node and starts watching; while the store is away it keeps retrying in the background. */
  async start(): Promise<void> {
    const t = this.opts.store.tls;
    this.etcd ??= await openEtcd(this.opts.store.endpoints, t ? { ca: readFileSync(t.caFile), cert: t.certFile ? readFileSync(t.certFile) : undefined, key: t.keyFile ? readFileSync(t.keyFile) : undefined } : undefined);
    const etcd = this.etcd;
    try {
      const now = nowRfc3339Nano();
      const rec: NodeRecord = {
        id: this.nodeId, createdAt: now, updatedAt: now, spec: { Labels: {}, Role: 'worker', Availability: 'active' }, hostname: hostname(),
        engineVersion: this.opts.engineVersion, nanoCpus: cpus().length * 1e9, memoryBytes: totalmem(), addr: this.addr, managerAddr: '',
      };
      await etcd.put(keys.node(this.nodeId)).value(JSON.stringify(rec)).exec();
      const m = new Membership(etcd, this.nodeId, this.opts.store.ttlSeconds, this.opts.log);
      await m.start();
      this.members = m;
      m.on('changed', () => this.emit('nodes', this.nodes()));
      m.on('gone', (id, r) => r && this.emit('nodeGone', { id, addr: r.addr, role: 'none', hostname: r.hostname, alive: false }));
      this.emit('nodes', this.nodes());
      this.opts.log.info({ nodeId: this.nodeId, addr: this.addr, store: this.opts.store.endpoints }, 'joined the cluster store');
    } catch (err) {
      if (this.closed) return;
      this.opts.log.warn({ err: String(err) }, 'cluster store unreachable; retrying');
      this.retry = setTimeout(() => void this.start(), 2000);
      this.retry.unref();
    }
  }

  nodes(): ClusterNode[] {
    const m = this.members;
    if (!m) return [];
    return [...m.nodes.values()].map(({ value: n }) => ({ id: n.id, addr: n.addr, role: 'none' as const, hostname: n.hostname, alive: m.alive.has(n.id) }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.members?.close(false);
    this.etcd?.close();
  }
}
