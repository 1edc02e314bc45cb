import type { Etcd3, Lease } from 'etcd3';
import type { Cluster } from './cluster.js';
import type { ClaimStore } from '../ipam/shared.js';

// The overlay's keys in the cluster store (under /weft/net/) and this node's lease for the ones
// that must go with it: endpoint addresses and the peer records other hosts program their
// VXLAN forwarding from. A lease is made per etcd client (a role change replaces the client) and
// re-made when lost; a node that dies stops renewing it and its keys vanish after the TTL.

export const NET_PREFIX = '/weft/net/';
const LEASE_TTL_S = 10;

export class NetKeys {
  private current: { etcd: Etcd3; lease: Lease; id: Promise<string> } | null = null;
  private claimStore: { etcd: Etcd3; store: ClaimStore } | null = null;

  constructor(readonly cluster: Cluster) {}

  /** The etcd client, or undefined outside a cluster. */
  get etcd(): Etcd3 | undefined {
    return this.cluster.etcd;
  }

  /** This node's lease ID for the current client (granted at the first use). */
  leaseId(): Promise<string> {
    const etcd = this.cluster.etcd;
    if (!etcd) return Promise.reject(new Error('not in a cluster'));
    if (this.current?.etcd !== etcd || this.current.lease.revoked()) {
      this.current?.lease.release();
      const lease = etcd.lease(LEASE_TTL_S);
      const entry = { etcd, lease, id: lease.grant() };
      entry.id.catch(() => undefined);
      lease.on('lost', () => {
        if (this.current === entry) this.current = null; // the next use grants a new one
      });
      this.current = entry;
    }
    const entry = this.current;
    return entry.id.catch((err) => {
      if (this.current === entry) this.current = null;
      throw err;
    });
  }

  /** GlobalDefault's claims (src/ipam/shared.ts) in etcd; undefined outside a cluster. */
  claims(): ClaimStore | undefined {
    const etcd = this.cluster.etcd;
    if (!etcd) return undefined;
    if (this.claimStore?.etcd === etcd) return this.claimStore.store;
    const full = (k: string) => NET_PREFIX + k;
    const store: ClaimStore = {
      keys: async (prefix) => (await etcd.getAll().prefix(full(prefix)).keys()).map((k) => k.slice(full(prefix).length)),
      claim: async (key, value, leased) => {
        const put = etcd.put(full(key)).value(value);
        if (leased) put.lease(await this.leaseId());
        const res = await etcd.if(full(key), 'Create', '==', 0).then(put).commit();
        return res.succeeded;
      },
      release: async (key) => void (await etcd.delete().key(full(key)).exec()),
      releasePrefix: async (prefix) => void (await etcd.delete().prefix(full(prefix)).exec()),
    };
    this.claimStore = { etcd, store };
    return store;
  }

  /** Gives the lease up at once (leave): this node's leased keys go now, not after the TTL. */
  async revoke(): Promise<void> {
    const entry = this.current;
    this.current = null;
    if (entry) await entry.lease.revoke().catch(() => entry.lease.release());
  }

  close(): void {
    this.current?.lease.release();
    this.current = null;
  }
}
