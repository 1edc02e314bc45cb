import { type Cidr, cidrContains, cidrOverlaps, formatAddrWithPrefix, formatCidr, lastAddress, ordinalOf, parseCidr, parseIpLoose } from './cidr.js';
import { IpamErrors } from './errors.js';
import { PredefinedPools, type PoolSpec } from './pools.js';

// The GlobalDefault address space when this node is in a cluster: pools and addresses are claims
// in the cluster store, each made with a create-if-absent transaction, so two hosts never hand out
// the same subnet or address. Nothing is kept in memory: every request reads the claims of its
// subnet (at most a /24's worth for default pools) and claims the lowest free address; a lost
// race is retried with the next one. Endpoint addresses are claimed on this node's lease, so a
// dead host's addresses come back when its lease expires; pools and gateways are not.

/** What the space needs of the cluster store (the daemon gives one backed by etcd). */
export interface ClaimStore {
  /** The keys claimed under prefix, each without the prefix. */
  keys(prefix: string): Promise<string[]>;
  /** Creates the key if it is absent; false when somebody holds it. leased: dies with this node's lease. */
  claim(key: string, value: string, leased: boolean): Promise<boolean>;
  release(key: string): Promise<void>;
  releasePrefix(prefix: string): Promise<void>;
  /** The cluster's own default pools (`docker swarm init --default-addr-pool`), null for the driver's. */
  defaultPools?(): Promise<PoolSpec[] | null>;
}

const POOLS = 'ipam/pools/';
const ADDRS = 'ipam/addrs/';
const enc = (c: Cidr) => formatCidr(c).replace('/', '-');
const ATTEMPTS = 16;

export class SharedSpace {
  private readonly predefined: PredefinedPools;

  constructor(
    readonly name: string,
    pools: readonly PoolSpec[],
    private readonly claims: ClaimStore,
  ) {
    this.predefined = new PredefinedPools(pools);
  }

  async requestPool(pool: string | undefined, subPool: string | undefined, replay: boolean): Promise<{ poolId: string; pool: string }> {
    if (!pool) return this.nextPredefined();
    const cidr = parseCidr(pool);
    if (!cidr) throw IpamErrors.invalidSubnet(pool);
    const norm: Cidr = { ...cidr, ip: cidr.network };
    if (subPool && !parseCidr(subPool)) throw IpamErrors.invalidSubPool(pool, subPool);
    if (!replay) {
      const held = await this.heldPools();
      if (held.some((h) => cidrOverlaps(h, norm))) throw IpamErrors.poolOverlap();
    }
    const won = await this.claims.claim(POOLS + enc(norm), formatCidr(norm), false);
    if (!won && !replay) throw IpamErrors.poolOverlap();
    return this.idOf(norm, subPool);
  }

  async releasePool(poolId: string): Promise<void> {
    const { cidr } = this.parseId(poolId);
    await this.claims.releasePrefix(`${ADDRS}${enc(cidr)}/`);
    await this.claims.release(POOLS + enc(cidr));
  }

  async requestAddress(poolId: string, preferred: string | undefined, replay: boolean, gateway: boolean): Promise<string> {
    const { cidr, range } = this.parseId(poolId);
    const keyOf = (v: bigint) => `${ADDRS}${enc(cidr)}/${formatAddrWithPrefix(cidr, v).split('/')[0]}`;
    if (preferred) {
      const ip = parseIpLoose(preferred);
      if (!ip || !cidrContains(cidr, ip)) throw IpamErrors.ipOutOfRange();
      const won = await this.claims.claim(keyOf(ip.value), '', !gateway);
      if (!won && !replay) throw IpamErrors.ipAlreadyAllocated();
      return formatAddrWithPrefix(cidr, ip.value);
    }
    const last = lastAddress(cidr);
    const lo = range ? range.network : cidr.network + 1n;
    const hi = range ? lastAddress(range) : last - 1n;
    // Lowest free first; a claim lost to another host moves on to the next free address of the
    // same listing, so concurrent requesters spread out instead of retrying one address.
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const taken = new Set(await this.claims.keys(`${ADDRS}${enc(cidr)}/`));
      let free = 0;
      for (let v = lo; v <= hi; v++) {
        if (v === cidr.network || v === last || ordinalOf(cidr, v) === 0n) continue;
        if (taken.has(formatAddrWithPrefix(cidr, v).split('/')[0])) continue;
        free++;
        if (await this.claims.claim(keyOf(v), '', !gateway)) return formatAddrWithPrefix(cidr, v);
      }
      if (free === 0) break;
    }
    throw IpamErrors.noAvailableIPs();
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    const { cidr } = this.parseId(poolId);
    const ip = parseIpLoose(address);
    if (!ip || !cidrContains(cidr, ip)) return;
    await this.claims.release(`${ADDRS}${enc(cidr)}/${address.split('/')[0]}`);
  }

  private async heldPools(): Promise<Cidr[]> {
    return (await this.claims.keys(POOLS)).map((k) => parseCidr(k.replace('-', '/'))).filter((c): c is Cidr => c !== null);
  }

  /** Swarm's serial allocation: the first default pool no held pool overlaps. */
  private async nextPredefined(): Promise<{ poolId: string; pool: string }> {
    const own = await this.claims.defaultPools?.();
    const predefined = own?.length ? new PredefinedPools(own) : this.predefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const held = await this.heldPools();
      let found: Cidr | null = null;
      for (let i = 0n; i < predefined.length; i++) {
        const c = predefined.at(i);
        if (c.family === 4 && !held.some((h) => cidrOverlaps(h, c))) {
          found = c;
          break;
        }
      }
      if (!found) throw IpamErrors.noDefaultPool(4);
      if (await this.claims.claim(POOLS + enc(found), formatCidr(found), false)) return this.idOf(found);
    }
    throw IpamErrors.noDefaultPool(4);
  }

  private idOf(c: Cidr, subPool?: string): { poolId: string; pool: string } {
    return { poolId: `${this.name}/${formatCidr(c)}${subPool ? `/${subPool}` : ''}`, pool: formatCidr(c) };
  }

  private parseId(poolId: string): { cidr: Cidr; range: Cidr | null } {
    const parts = poolId.split('/');
    const cidr = parseCidr(`${parts[1]}/${parts[2]}`);
    if (parts[0] !== this.name || !cidr) throw IpamErrors.unknownPool(poolId);
    const range = parts.length >= 5 ? parseCidr(`${parts[3]}/${parts[4]}`) : null;
    return { cidr, range };
  }
}
