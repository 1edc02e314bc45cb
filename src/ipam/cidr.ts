// IPv4/IPv6 addresses and CIDR blocks as bigints, parsed the way Go's net.ParseIP and
// net.ParseCIDR do (libnetwork's inputs all go through them), printed the way net.IP.String
// and net.IPNet.String do.

export type Family = 4 | 6;

export interface IpAddress {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** The address as written, e.g. 172.18.0.5 for "172.18.0.5/16" (Go's ParseCIDR `ip`). */
  ip: bigint;
  /** The network address, host bits cleared (Go's ParseCIDR `ipnet.IP`). */
  network: bigint;
  prefix: number;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

function parseIPv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    // Go >= 1.17 rejects leading zeros ("010.0.0.1") as ambiguous.
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | null {
  if (s.length === 0 || s.includes('%')) return null;
  // An embedded IPv4 suffix ("::ffff:1.2.3.4") stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    const groups = parseIPv6Groups(s.slice(0, lastColon + 1) + '0:0');
    if (!groups) return null;
    groups[6] = Number(v4 >> 16n);
    groups[7] = Number(v4 & 0xffffn);
    return groupsToBigint(groups);
  }
  const groups = parseIPv6Groups(s);
  return groups ? groupsToBigint(groups) : null;
}

function parseIPv6Groups(s: string): number[] | null {
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const parseList = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (dbl < 0) {
    const all = parseList(s);
    return all && all.length === 8 ? all : null;
  }
  const head = parseList(s.slice(0, dbl));
  const tail = parseList(s.slice(dbl + 2));
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function groupsToBigint(groups: number[]): bigint {
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses a plain address (no prefix). Returns null where Go's net.ParseIP returns nil. */
export function parseIp(s: string): IpAddress | null {
  if (s.includes(':')) {
    const v = parseIPv6(s);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseIPv4(s);
  return v === null ? null : { family: 4, value: v };
}

// Masks are looked up, not computed: BigInt shifts per call made IPAM's overlap checks the
// largest cost of a restart with 1,000 networks.
const HOST_MASKS = { 4: hostMasks(32), 6: hostMasks(128) };
const MASKS = { 4: HOST_MASKS[4].map((h) => h ^ ((1n << 32n) - 1n)), 6: HOST_MASKS[6].map((h) => h ^ ((1n << 128n) - 1n)) };

function hostMasks(bits: number): bigint[] {
  const all = (1n << BigInt(bits)) - 1n;
  return Array.from({ length: bits + 1 }, (_, prefix) => all >> BigInt(prefix));
}

export function maskOf(family: Family, prefix: number): bigint {
  const masks = MASKS[family];
  return masks[Math.max(0, Math.min(prefix, masks.length - 1))];
}

export function hostMaskOf(family: Family, prefix: number): bigint {
  const masks = HOST_MASKS[family];
  return masks[Math.max(0, Math.min(prefix, masks.length - 1))];
}

/** Parses "addr/len". Returns null where Go's net.ParseCIDR fails ("invalid CIDR address: ..."). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(s.slice(0, slash));
  const lenStr = s.slice(slash + 1);
  if (!ip || !/^\d+$/.test(lenStr)) return null;
  const prefix = Number(lenStr);
  if (prefix > bitsOf(ip.family)) return null;
  return { family: ip.family, ip: ip.value, network: ip.value & maskOf(ip.family, prefix), prefix };
}

/** Formats an address like Go's net.IP.String (RFC 5952 for IPv6). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => ((value >> sh) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups, at least 2 long; the first one wins a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The normalized form, like Go's net.IPNet.String: "172.18.0.0/16" for "172.18.0.5/16". */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** An address with the block's prefix length: "172.18.0.2/16". */
export function formatAddrWithPrefix(c: Cidr, value: bigint): string {
  return `${formatIp(c.family, value)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, addr: IpAddress): boolean {
  return c.family === addr.family && (addr.value & maskOf(c.family, c.prefix)) === c.network;
}

/** libnetwork's overlap test: either block contains the other's network address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return (
    cidrContains(a, { family: b.family, value: b.network }) ||
    cidrContains(b, { family: a.family, value: a.network })
  );
}

/** Last address of the block (the broadcast address for IPv4). */
export function lastAddress(c: Cidr): bigint {
  return c.network | hostMaskOf(c.family, c.prefix);
}

/** Number of addresses in the block. */
export function blockSize(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

/** The nth address of the block (0 = network address). Throws when n is outside the block. */
export function nthAddress(c: Cidr, n: bigint): bigint {
  if (n < 0n || n >= blockSize(c)) throw new RangeError(`address #${n} is outside ${formatCidr(c)}`);
  return c.network + n;
}

/** Host-part ordinal of an address inside a block (libnetwork's GetHostPartIP). */
export function ordinalOf(c: Cidr, value: bigint): bigint {
  return value & hostMaskOf(c.family, c.prefix);
}

/** Parses "addr" or "addr/len" and returns just the address; null when neither parses. */
export function parseIpLoose(s: string): IpAddress | null {
  const slash = s.indexOf('/');
  if (slash < 0) return parseIp(s);
  const c = parseCidr(s);
  return c ? { family: c.family, value: c.ip } : null;
}
