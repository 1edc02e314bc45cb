import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../common/log.js';
import type { Cluster } from './cluster.js';
import type { ClaimStore } from '../ipam/shared.js';
import type { PoolSpec } from '../ipam/pools.js';
import { keys, NO_LEADER, storeCall } from './kv.js';

// The overlay's keys in the cluster store (under /weft/net/) and this node's lease for the ones
// that must go with it: endpoint addresses and the peer records other hosts program their VXLAN
// forwarding from. A node that dies stops renewing its lease and its keys vanish after the TTL.
// While this node runs, every leased key it wrote is remembered: when its lease is lost (etcd
// away longer than the TTL) or replaced (a role change brings a new client), a new lease is made
// at once and every remembered key is written again on it, so live endpoints never vanish.

export const NET_PREFIX = '/weft/net/';
const LEASE_TTL_S = 10;

export class NetKeys {
  private current: { etcd: Etcd3; lease: Lease; id: Promise<string> } | null = null;
  private claimStore: { etcd: Etcd3; store: ClaimStore } | null = null;
  /** Leased keys this node holds (full key -> value). */
  private readonly held = new Map<string, string>();
  private regrant: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly cluster: Cluster,
    private readonly log?: Logger,
  ) {}

  /** This node's lease ID for the current client (granted at the first use). */
  leaseId(): Promise<string> {
    const etcd = this.cluster.etcd;
    if (!etcd) return Promise.reject(new Error('not in a cluster'));
    if (this.current?.etcd !== etcd) this.newLease(etcd);
    const entry = this.current!;
    return entry.id.catch((err) => {
      if (this.current === entry) this.current = null;
      throw err;
    });
  }

  private newLease(etcd: Etcd3): void {
    const old = this.current;
    old?.lease.release();
    const lease = etcd.lease(LEASE_TTL_S);
    const entry = { etcd, lease, id: lease.grant() };
    entry.id.catch(() => undefined);
    lease.on('lost', () => {
      if (this.current !== entry || this.closed) return;
      this.current = null;
      this.log?.warn({}, 'overlay lease lost; re-making it and writing this node\'s keys again');
      this.scheduleRepublish(1000);
    });
    this.current = entry;
  }

  /** The client changed (role change) or the lease was lost: a new lease, every held key on it. */
  private scheduleRepublish(ms: number): void {
    if (this.regrant || this.closed) return;
    this.regrant = setTimeout(() => {
      this.regrant = undefined;
      void this.republish().catch((err) => {
        this.log?.debug({ err: String(err) }, 'overlay keys not written again yet');
        this.scheduleRepublish(1000);
      });
    }, ms);
    this.regrant.unref();
  }

  private async republish(): Promise<void> {
    const etcd = this.cluster.etcd;
    if (!etcd || this.held.size === 0) return;
    const id = await this.leaseId();
    for (const [key, value] of this.held) await etcd.put(key).value(value).lease(id).exec();
  }

  /** Call when the cluster's client may have changed: keys held on the old one's lease move over. */
  clientChanged(): void {
    const etcd = this.cluster.etcd;
    if (!etcd || this.current?.etcd === etcd) return;
    if (this.held.size) this.scheduleRepublish(0);
  }

  /** Writes a key on this node's lease and remembers it. */
  async putLeased(key: string, value: string): Promise<void> {
    const etcd = this.need();
    this.held.set(key, value);
    await etcd.put(key).value(value).lease(await this.leaseId()).exec();
  }

  /** Creates a key on this node's lease if it is absent; false when somebody holds it. */
  async claimLeased(key: string, value: string): Promise<boolean> {
    const etcd = this.need();
    const put = etcd.put(key).value(value).lease(await this.leaseId());
    const res = await etcd.if(key, 'Create', '==', 0).then(put).commit();
    if (res.succeeded) {
      this.held.set(key, value);
      return true;
    }
    // Ours from before a restart (same node, an older lease): taken over onto the current lease.
    const mine = this.cluster.nodeId && value === this.cluster.nodeId;
    const moved = mine && (await etcd.if(key, 'Value', '==', value).then(etcd.put(key).value(value).lease(await this.leaseId())).commit()).succeeded;
    if (moved) this.held.set(key, value);
    return Boolean(moved);
  }

  /**
   * One of this node's keys was deleted by someone else (a peer took this node for gone while it
   * was cut off): written again if this node still holds it.
   */
  async reassert(key: string): Promise<void> {
    const value = this.held.get(key);
    const etcd = this.cluster.etcd;
    if (value === undefined || !etcd) return;
    await etcd.put(key).value(value).lease(await this.leaseId()).exec();
  }

  async deleteLeased(key: string): Promise<void> {
    this.held.delete(key);
    const etcd = this.cluster.etcd;
    if (etcd) await etcd.delete().key(key).exec();
  }

  private need(): Etcd3 {
    const etcd = this.cluster.etcd;
    if (!etcd) throw new Error('not in a cluster');
    return etcd;
  }

  /** GlobalDefault's claims (src/ipam/shared.ts) in etcd; undefined outside a cluster. */
  claims(): ClaimStore | undefined {
    const etcd = this.cluster.etcd;
    if (!etcd) return undefined;
    if (this.claimStore?.etcd === etcd) return this.claimStore.store;
    const full = (k: string) => NET_PREFIX + k;
    const raw: ClaimStore = {
      keys: async (prefix) => (await etcd.getAll().prefix(full(prefix)).keys()).map((k) => k.slice(full(prefix).length)),
      claim: async (key, value, leased) => {
        if (leased) return this.claimLeased(full(key), value || (this.cluster.nodeId ?? ''));
        const res = await etcd.if(full(key), 'Create', '==', 0).then(etcd.put(full(key)).value(value)).commit();
        return res.succeeded;
      },
      release: async (key) => {
        this.held.delete(full(key));
        await etcd.delete().key(full(key)).exec();
      },
      defaultPools: async () => (await this.swarmSettings()).pools,
      releasePrefix: async (prefix) => {
        for (const k of [...this.held.keys()]) if (k.startsWith(full(prefix))) this.held.delete(k);
        await etcd.delete().prefix(full(prefix)).exec();
      },
    };
    // An unreachable store fails fast with swarm's text (503), not a gRPC error.
    const store: ClaimStore = {
      keys: (p) => storeCall(NO_LEADER, () => raw.keys(p)),
      claim: (k, v, l) => storeCall(NO_LEADER, () => raw.claim(k, v, l)),
      release: (k) => storeCall(NO_LEADER, () => raw.release(k)),
      releasePrefix: (p) => storeCall(NO_LEADER, () => raw.releasePrefix(p)),
      defaultPools: () => storeCall(NO_LEADER, () => raw.defaultPools!()),
    };
    this.claimStore = { etcd, store };
    return store;
  }

  /**
   * What `docker swarm init` set for overlays: --default-addr-pool (with --default-addr-pool-mask-len)
   * and --data-path-port; Docker's defaults without a swarm record (--cluster-store).
   */
  async swarmSettings(): Promise<{ pools: PoolSpec[] | null; port: number }> {
    const etcd = this.need();
    const text = await etcd.get(keys.cluster).string();
    if (!text) return { pools: null, port: 4789 };
    const rec = JSON.parse(text) as { defaultAddrPool?: string[] | null; subnetSize?: number; dataPathPort?: number };
    const size = rec.subnetSize || 24;
    return { pools: rec.defaultAddrPool?.length ? rec.defaultAddrPool.map((base) => ({ base, size })) : null, port: rec.dataPathPort || 4789 };
  }

  /** Gives the lease up at once (leave): this node's leased keys go now, not after the TTL. */
  async revoke(): Promise<void> {
    this.held.clear();
    const entry = this.current;
    this.current = null;
    if (entry) await entry.lease.revoke().catch(() => entry.lease.release());
  }

  close(): void {
    this.closed = true;
    if (this.regrant) clearTimeout(this.regrant);
    this.current?.lease.release();
    this.current = null;
  }
}
