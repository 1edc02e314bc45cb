import { invalid } from '../common/errors.js';
import { type Cidr, bitsOf, cidrOverlaps, formatCidr, parseCidr, parseIp } from './cidr.js';

// Docker's predefined ("default") local address pools: libnetwork ipamutils/utils.go.
// The list is {base, size} blocks split into subnets of /size, in order; dockerd's
// --default-address-pool / "default-address-pools" replace it wholesale.

export interface PoolSpec {
  base: string;
  size: number;
}

/** ipamutils.localScopeDefaultNetworks (Docker 18.06 .. 26): 15 /16s then 16 /20s, 31 in all. */
export const DOCKER_DEFAULT_POOLS: readonly PoolSpec[] = Object.freeze([
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
]);

interface Block {
  base: Cidr; // normalized
  size: number;
  count: bigint;
  first: bigint; // index of this block's first subnet in the whole list
}

/**
 * The split list, enumerated lazily (an IPv6 base split into /64s would not fit in memory).
 * Indices are bigints.
 */
export class PredefinedPools {
  private readonly blocks: Block[] = [];
  readonly length: bigint;

  constructor(readonly specs: readonly PoolSpec[]) {
    let total = 0n;
    for (const p of specs) {
      const base = parseCidr(p.base);
      // ipamutils.splitNetworks' texts.
      if (!base) throw invalid(`invalid base pool "${p.base}": invalid CIDR address: ${p.base}`);
      if (!Number.isInteger(p.size) || p.size <= 0 || p.size < base.prefix || p.size > bitsOf(base.family)) {
        throw invalid(`invalid pools size: ${p.size}`);
      }
      const norm: Cidr = { ...base, ip: base.network };
      const count = 1n << BigInt(p.size - base.prefix);
      this.blocks.push({ base: norm, size: p.size, count, first: total });
      total += count;
    }
    this.length = total;
  }

  at(i: bigint): Cidr {
    if (i < 0n || i >= this.length) throw new RangeError(`pool index ${i} out of range`);
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.blocks[mid].first <= i) lo = mid;
      else hi = mid - 1;
    }
    const b = this.blocks[lo];
    const shift = BigInt(bitsOf(b.base.family) - b.size);
    const network = b.base.network + ((i - b.first) << shift);
    return { family: b.base.family, ip: network, network, prefix: b.size };
  }

  *[Symbol.iterator](): IterableIterator<Cidr> {
    for (let i = 0n; i < this.length; i++) yield this.at(i);
  }

  /** The first `n` pools as strings (for tests and logs). */
  list(n = 64): string[] {
    const out: string[] = [];
    for (let i = 0n; i < this.length && out.length < n; i++) out.push(formatCidr(this.at(i)));
    return out;
  }
}

/**
 * Parses host routes as given by `ip -json route` ("dst" values): CIDRs, bare addresses (host
 * routes), "default". Default routes never count as overlapping (libnetwork skips routes whose
 * Dst is nil); unparsable entries are ignored.
 */
export function parseHostRoutes(routes: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const r of routes) {
    if (r === 'default') continue;
    let c = parseCidr(r);
    if (!c) {
      const ip = parseIp(r);
      if (ip) c = { family: ip.family, ip: ip.value, network: ip.value, prefix: bitsOf(ip.family) };
    }
    if (c && c.prefix > 0) out.push(c);
  }
  return out;
}

export function overlapsAny(c: Cidr, list: readonly Cidr[]): boolean {
  return list.some((o) => cidrOverlaps(c, o));
}

/**
 * netutils.FindAvailableNetwork: the first pool of the list that overlaps no host route (and,
 * optionally, none of `taken`). dockerd uses it to pick docker0's subnet when --bip is unset.
 * To also avoid the host's nameservers, as Docker does, pass them as /32 routes.
 */
export function findAvailableNetwork(
  pools: PredefinedPools,
  hostRoutes: readonly string[],
  taken: readonly string[] = [],
): Cidr | null {
  const routes = parseHostRoutes(hostRoutes);
  const used = taken.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null);
  for (const p of pools) {
    if (!overlapsAny(p, routes) && !overlapsAny(p, used)) return p;
  }
  return null;
}

/**
 * Parses dockerd's --default-address-pool value, "base=10.10.0.0/16,size=24"
 * (opts.PoolsOpt.Set). Throws with the key named.
 */
export function parsePoolSpec(value: string): PoolSpec {
  let base: string | undefined;
  let size: number | undefined;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw invalid(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const v = field.slice(eq + 1).trim();
    if (key === 'base') base = v;
    else if (key === 'size') {
      if (!/^-?\d+$/.test(v)) throw invalid(`invalid size value "${v}" in default-address-pool "${value}"`);
      size = Number(v);
    } else throw invalid(`invalid field key ${key}`);
  }
  if (base === undefined || size === undefined) {
    throw invalid(`invalid default-address-pool "${value}": both base and size are required`);
  }
  return { base, size };
}
