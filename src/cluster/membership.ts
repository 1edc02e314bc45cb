import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Logger } from '../common/log.js';
import { keys } from './kv.js';
import type { ClusterRecord, NodeRecord, Versioned } from './records.js';

// Who is in the cluster, as this node sees it: every node's record (keys.nodes) and which nodes
// are alive (keys.alive: one key per node, bound to that node's lease). This node keeps its own
// alive key with a lease it refreshes; when a node stops refreshing (killed, cut off) etcd drops
// its key after the TTL and every watcher hears "gone". The cache serves GET /info and the
// overlay's view without a store call; two watches keep it current (they resume after etcd
// comes back, from the last revision they saw).

export interface MembershipEvents {
  /** Any record or liveness changed. */
  changed: [];
  /** A node's alive key went away: it left, or its lease expired. */
  gone: [id: string, record: NodeRecord | undefined];
  /** A node's alive key appeared (joined, or back after an outage). */
  alive: [id: string];
  /** This node's own record changed (role, availability) or was deleted (undefined). */
  self: [record: Versioned<NodeRecord> | undefined];
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly nodes = new Map<string, Versioned<NodeRecord>>();
  readonly alive = new Set<string>();
  /** The swarm's record (keys.cluster); undefined with --cluster-store. */
  cluster: Versioned<ClusterRecord> | undefined;
  private lease: Lease | undefined;
  private watchers: Watcher[] = [];
  private closed = false;
  private regrant: NodeJS.Timeout | undefined;

  constructor(
    private readonly etcd: Etcd3,
    private readonly selfId: string,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Loads the current state, starts both watches and this node's heartbeat. */
  async start(): Promise<void> {
    const [nodes, alive, cluster] = await Promise.all([
      this.etcd.getAll().prefix(keys.nodes).exec(),
      this.etcd.getAll().prefix(keys.alive).exec(),
      this.etcd.getAll().prefix(keys.cluster).exec(),
    ]);
    const kv = cluster.kvs.find((k) => k.key.toString() === keys.cluster);
    if (kv) this.cluster = { value: JSON.parse(kv.value.toString()) as ClusterRecord, version: Number(kv.mod_revision) };
    for (const kv of nodes.kvs) this.nodes.set(kv.key.toString().slice(keys.nodes.length), { value: JSON.parse(kv.value.toString()) as NodeRecord, version: Number(kv.mod_revision) });
    for (const kv of alive.kvs) this.alive.add(kv.key.toString().slice(keys.alive.length));
    const from = String(Math.max(Number(nodes.header.revision), Number(alive.header.revision)) + 1);
    this.watchers.push(await this.watch(keys.nodes, from, (id, kv) => this.onNode(id, kv)));
    this.watchers.push(await this.watch(keys.alive, from, (id, kv) => this.onAlive(id, kv !== undefined)));
    this.watchers.push(
      await this.watch(keys.cluster, from, (rest, kv) => {
        if (rest !== '') return;
        this.cluster = kv ? { value: JSON.parse(kv.value.toString()) as ClusterRecord, version: Number(kv.mod_revision) } : undefined;
        this.emit('changed');
      }),
    );
    await this.heartbeat();
  }

  private async watch(prefix: string, from: string, on: (id: string, kv: { value: Buffer; mod_revision: string } | undefined) => void): Promise<Watcher> {
    const w = await this.etcd.watch().prefix(prefix).startRevision(from).create();
    w.on('put', (kv) => on(kv.key.toString().slice(prefix.length), kv));
    w.on('delete', (kv) => on(kv.key.toString().slice(prefix.length), undefined));
    w.on('disconnected', (err) => this.log.debug({ err: String(err), prefix }, 'cluster watch disconnected; it resumes when etcd is back'));
    w.on('error', (err) => this.log.warn({ err: String(err), prefix }, 'cluster watch error'));
    return w;
  }

  private onNode(id: string, kv: { value: Buffer; mod_revision: string } | undefined): void {
    if (kv) this.nodes.set(id, { value: JSON.parse(kv.value.toString()) as NodeRecord, version: Number(kv.mod_revision) });
    else this.nodes.delete(id);
    if (id === this.selfId) this.emit('self', this.nodes.get(id));
    this.emit('changed');
  }

  private onAlive(id: string, present: boolean): void {
    const was = this.alive.has(id);
    if (present) this.alive.add(id);
    else this.alive.delete(id);
    if (present && !was) this.emit('alive', id);
    if (!present && was) this.emit('gone', id, this.nodes.get(id)?.value);
    this.emit('changed');
    // Our own key vanished while we run (the lease expired during an etcd outage): put it back.
    if (!present && id === this.selfId && !this.closed) this.scheduleHeartbeat(0);
  }

  /** Puts this node's alive key on a fresh lease; a lost lease (etcd away past the TTL) is re-made. */
  private async heartbeat(): Promise<void> {
    const lease = this.etcd.lease(this.ttlSeconds);
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.closed || this.lease !== lease) return;
      this.log.warn({ err: String(err) }, 'cluster heartbeat lease lost; re-making it');
      this.scheduleHeartbeat(1000);
    });
    await lease.put(keys.aliveOf(this.selfId)).value(JSON.stringify({ since: new Date().toISOString() }));
  }

  private scheduleHeartbeat(ms: number): void {
    if (this.regrant) return;
    this.regrant = setTimeout(() => {
      this.regrant = undefined;
      if (this.closed) return;
      const old = this.lease;
      this.lease = undefined;
      old?.release();
      this.heartbeat().catch((err: unknown) => {
        this.log.debug({ err: String(err) }, 'cluster heartbeat not re-made yet');
        this.scheduleHeartbeat(1000);
      });
    }, ms);
    this.regrant.unref();
  }

  /** Ends watches and heartbeat; revoke=true removes this node's alive key at once (leave). */
  async close(revoke: boolean): Promise<void> {
    this.closed = true;
    if (this.regrant) clearTimeout(this.regrant);
    for (const w of this.watchers) await w.cancel().catch(() => undefined);
    this.watchers = [];
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      if (revoke) await lease.revoke().catch(() => lease.release());
      else lease.release();
    }
  }

  managers(): Versioned<NodeRecord>[] {
    return [...this.nodes.values()].filter((n) => n.value.spec.Role === 'manager');
  }
}
