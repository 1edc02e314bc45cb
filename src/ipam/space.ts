import { OrdinalSet } from './bitmap.js';
import { type Cidr, type Family, type IpAddress, blockSize, cidrContains, cidrOverlaps, formatAddrWithPrefix, formatCidr, lastAddress, ordinalOf, parseCidr, parseIpLoose } from './cidr.js';
import { IpamErrors } from './errors.js';
import { PredefinedPools, overlapsAny, type PoolSpec } from './pools.js';

// One address space of the default IPAM driver, as Docker 20.10's libnetwork runs it
// (ipam/allocator.go, structures.go): pools are keyed by their normalized subnet; an --ip-range
// is a child of its subnet's pool and shares its address bitmap (so two networks may share a
// subnet with different ranges, as in Docker; the bridge driver refuses the overlap later); the
// default-pool cursor rotates: after handing out pool i the search starts at i+1, so a
// just-released subnet is not reused at once (moby/libnetwork#2177); addresses go lowest-free-first
// unless `serial` (swarm's bitseq serial allocation, for the global space); the network address
// (ordinal 0) and, for IPv4, the broadcast address are never handed out. Synchronous: the driver
// around it (default.ts) is the async face.

interface MasterPool {
  key: string; // normalized subnet
  cidr: Cidr;
  bits: OrdinalSet;
  refs: number;
  children: Set<string>; // raw --ip-range strings in use
}

interface Pool {
  master: MasterPool;
  childKey: string | null;
  range: { start: bigint; end: bigint } | null;
}

/** libnetwork's bitmask size for a pool: 2^hostbits, capped at 2^64-1 for IPv6. */
function ordinalCount(c: Cidr): bigint {
  const n = blockSize(c);
  const cap = (1n << 64n) - 1n;
  return c.family === 6 && n > cap ? cap : n;
}

function newMaster(cidr: Cidr): MasterPool {
  const norm: Cidr = { ...cidr, ip: cidr.network };
  const n = ordinalCount(norm);
  const bits = new OrdinalSet(n);
  bits.set(0n); // network address (for IPv6 too, so the bridge gets ...::1)
  if (norm.family === 4) bits.set(n - 1n); // broadcast (a no-op on a /32, as in 20.10)
  return { key: formatCidr(norm), cidr: norm, bits, refs: 1, children: new Set() };
}

export class AddressSpace {
  private readonly predefined: PredefinedPools;
  private cursor = 0n;
  private readonly masters = new Map<string, MasterPool>();
  private readonly pools = new Map<string, Pool>();

  constructor(
    readonly name: string,
    pools: readonly PoolSpec[],
    private readonly serial = false,
  ) {
    this.predefined = new PredefinedPools(pools);
  }

  get defaultPools(): PredefinedPools {
    return this.predefined;
  }

  /** A user pool (with an optional --ip-range), or the next default pool of the family. */
  requestPool(pool: string | undefined, subPool: string | undefined, v6: boolean, replay: boolean): { poolId: string; pool: string } {
    if (!pool) {
      const cidr = this.nextPredefined(v6 ? 6 : 4);
      this.masters.set(formatCidr(cidr), newMaster(cidr));
      return this.register({ master: this.masters.get(formatCidr(cidr))!, childKey: null, range: null });
    }
    const cidr = parseCidr(pool);
    if (!cidr) throw IpamErrors.invalidSubnet(pool);
    const key = formatCidr(cidr);
    const existing = this.masters.get(key);
    if (!subPool) {
      if (existing) throw IpamErrors.poolOverlap();
      // The store's pools were checked when they were allocated: re-checking each against all the
      // others made a restart quadratic in the number of networks.
      if (!replay) for (const m of this.masters.values()) if (cidrOverlaps(cidr, m.cidr)) throw IpamErrors.poolOverlap();
      const m = newMaster(cidr);
      this.masters.set(key, m);
      return this.register({ master: m, childKey: null, range: null });
    }
    const r = parseCidr(subPool);
    if (!r) throw IpamErrors.invalidSubPool(pool, subPool);
    const max = ordinalCount(cidr) - 1n;
    const start = ordinalOf(cidr, r.network);
    let end = ordinalOf(cidr, lastAddress(r));
    if (end > max) end = max;
    if (existing) {
      if (existing.children.has(subPool)) throw IpamErrors.poolOverlap();
      existing.children.add(subPool);
      existing.refs++;
      return this.register({ master: existing, childKey: subPool, range: { start, end } });
    }
    const m = newMaster(cidr);
    m.children.add(subPool);
    this.masters.set(key, m);
    return this.register({ master: m, childKey: subPool, range: { start, end } });
  }

  /** Refcounted: the subnet's bitmap goes with its last pool. */
  releasePool(poolId: string): void {
    const p = this.pools.get(poolId);
    if (!p) return;
    this.pools.delete(poolId);
    const m = p.master;
    if (p.childKey !== null) m.children.delete(p.childKey);
    m.refs--;
    if (m.refs <= 0 && this.masters.get(m.key) === m) this.masters.delete(m.key);
  }

  /** allocator.go getAddress: the preferred address, or the first free one of the range/pool. */
  requestAddress(poolId: string, preferred: string | undefined, replay: boolean): string {
    const p = this.poolOf(poolId);
    const { cidr, bits } = p.master;
    if (!replay && bits.unselected <= 0n) throw IpamErrors.noAvailableIPs();
    let pref: IpAddress | null = null;
    if (preferred) {
      pref = parseIpLoose(preferred);
      if (!pref || !cidrContains(cidr, pref)) throw IpamErrors.ipOutOfRange();
    }
    if (pref) {
      const o = ordinalOf(cidr, pref.value);
      if (o >= bits.size) throw IpamErrors.ipOutOfRange();
      if (!bits.set(o) && !replay) throw IpamErrors.ipAlreadyAllocated();
      return formatAddrWithPrefix(cidr, cidr.network + o);
    }
    const o = p.range ? bits.setAnyInRange(p.range.start, p.range.end, this.serial) : bits.setAnyInRange(0n, bits.size - 1n, this.serial);
    if (o === null) throw IpamErrors.noAvailableIPs();
    return formatAddrWithPrefix(cidr, cidr.network + o);
  }

  releaseAddress(poolId: string, address: string): void {
    const p = this.pools.get(poolId);
    const ip = parseIpLoose(address);
    if (!p || !ip || !cidrContains(p.master.cidr, ip)) return;
    p.master.bits.unset(ordinalOf(p.master.cidr, ip.value));
  }

  /** Whether an address of the pool is taken (tests, diagnostics). */
  isAllocated(poolId: string, address: string): boolean {
    const p = this.pools.get(poolId);
    const ip = parseIpLoose(address);
    return Boolean(p && ip && cidrContains(p.master.cidr, ip) && p.master.bits.isSet(ordinalOf(p.master.cidr, ip.value)));
  }

  /** Normalized subnets of every pool held. */
  subnets(): string[] {
    return [...this.masters.keys()];
  }

  private register(p: Pool): { poolId: string; pool: string } {
    // libnetwork's PoolID string form: space/subnet[/subpool].
    const poolId = `${this.name}/${p.master.key}${p.childKey ? `/${p.childKey}` : ''}`;
    this.pools.set(poolId, p);
    return { poolId, pool: p.master.key };
  }

  private poolOf(poolId: string): Pool {
    const p = this.pools.get(poolId);
    if (!p) throw IpamErrors.unknownPool(poolId);
    return p;
  }

  /** allocator.go getPredefinedPool: the next default pool overlapping no pool of this space. */
  private nextPredefined(family: Family): Cidr {
    const n = this.predefined.length;
    const start = this.cursor >= n ? 0n : this.cursor;
    const held = [...this.masters.values()].map((m) => m.cidr);
    for (let j = 0n; j < n; j++) {
      let idx = start + j;
      if (idx >= n) idx -= n;
      const nw = this.predefined.at(idx);
      if (nw.family !== family) continue;
      if (this.masters.has(formatCidr(nw)) || overlapsAny(nw, held)) continue;
      // updatePredefinedStartIndex(i+1): start+i+1, reset to 0 past the end (not modulo).
      const next = start + j + 1n;
      this.cursor = next >= n ? 0n : next;
      return nw;
    }
    throw IpamErrors.noDefaultPool(family);
  }
}
