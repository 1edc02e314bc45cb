import type { IpamPoolConfig } from '../common/model.js';
import { WeftError, systemError } from '../common/errors.js';
import { OrdinalSet } from './bitmap.js';
import {
  type Cidr,
  type Family,
  type IpAddress,
  blockSize,
  cidrContains,
  cidrOverlaps,
  formatAddrWithPrefix,
  formatCidr,
  formatIp,
  lastAddress,
  ordinalOf,
  parseCidr,
  parseIp,
  parseIpLoose,
} from './cidr.js';
import { IpamErrors } from './errors.js';
import { DOCKER_DEFAULT_POOLS, type PoolSpec, PredefinedPools, findAvailableNetwork, overlapsAny, parseHostRoutes } from './pools.js';

// The default IPAM driver, as Docker 20.10's libnetwork runs it for local-scope networks
// (ipam/allocator.go + the pool/gateway/aux-address part of network.go ipamAllocateVersion +
// endpoint.go assignAddressVersion). One address space ("LocalDefault"):
//  - pools are keyed by their normalized subnet; an --ip-range is a child of its subnet's pool
//    and shares its address bitmap (so two networks may share a subnet with different ranges,
//    as in Docker; the bridge driver refuses the overlap later);
//  - a subnet the user gave is never checked against host routes; a default pool is, and is
//    skipped (held, then released) when it overlaps one;
//  - the default-pool cursor rotates: after handing out pool i the search starts at i+1, so a
//    just-released subnet is not reused at once (moby/libnetwork#2177); it is not persisted;
//  - addresses go lowest-free-first (local networks never ask bitseq for serial allocation),
//    the network address (ordinal 0) and, for IPv4, the broadcast address are never handed out.

export interface PoolRequest {
  /** The user's IPAM config entries (--subnet/--ip-range/--gateway/--aux-address); may be empty. */
  config: IpamPoolConfig[];
  enableIPv6: boolean;
  /** Network name, for error texts (defaults to the id). */
  name?: string;
}

export interface ExistingNetwork {
  id: string;
  subnets: string[];
}

export interface RestoreRequest {
  name?: string;
  /** The resolved config as returned by requestPools (Subnet and Gateway set). */
  config: IpamPoolConfig[];
  enableIPv6: boolean;
  /** Whether the user configured a subnet of that family at create time (gates static IPs). */
  userConfigured: { v4: boolean; v6: boolean };
}

export interface IpamOptions {
  /** Default address pools ({base,size} as dockerd's --default-address-pool); Docker's when omitted. */
  pools?: readonly PoolSpec[];
  /** bitseq serial allocation (swarm's behaviour). Local Docker networks do not use it. */
  serial?: boolean;
}

interface MasterPool {
  key: string; // normalized subnet
  cidr: Cidr;
  bits: OrdinalSet;
  refs: number;
  children: Map<string, number>; // raw --ip-range string -> users
}

interface NetPool {
  master: MasterPool;
  childKey: string | null;
  range: { start: bigint; end: bigint } | null;
  gateway: bigint | null;
  aux: bigint[];
}

interface NetState {
  id: string;
  name: string;
  pools: Record<Family, NetPool[]>;
  userSubnet: Record<Family, boolean>;
}

export type FamilyName = 'v4' | 'v6';
const toFamily = (f: Family | FamilyName): Family => (f === 'v4' || f === 4 ? 4 : 6);

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
  return { key: formatCidr(norm), cidr: norm, bits, refs: 1, children: new Map() };
}

export class Ipam {
  private readonly predefined: PredefinedPools;
  private readonly serial: boolean;
  private cursor = 0n;
  private readonly masters = new Map<string, MasterPool>();
  private readonly nets = new Map<string, NetState>();

  /** Accepts the options, or just the default address pools (undefined: Docker's). */
  constructor(optsOrPools?: IpamOptions | readonly PoolSpec[]) {
    const opts: IpamOptions = Array.isArray(optsOrPools) ? { pools: optsOrPools } : ((optsOrPools as IpamOptions | undefined) ?? {});
    this.predefined = new PredefinedPools(opts.pools ?? DOCKER_DEFAULT_POOLS);
    this.serial = opts.serial ?? false;
  }

  get defaultPools(): PredefinedPools {
    return this.predefined;
  }

  has(netId: string): boolean {
    return this.nets.has(netId);
  }

  /**
   * Allocates the pools of a new network and reserves their gateways and aux addresses.
   * Returns the resolved config: v4 entries then v6 entries, each with the normalized Subnet and
   * the Gateway (given, or the first free address: the subnet's .1, or the first address of the
   * --ip-range), IPRange and AuxiliaryAddresses echoed as given. IPv6 entries of a network
   * without IPv6 are echoed unresolved (Docker keeps but ignores them).
   * All or nothing: on error, whatever was allocated is released.
   */
  requestPools(
    netId: string,
    req: PoolRequest,
    existingNetworks: readonly ExistingNetwork[] = [],
    hostRoutes: readonly string[] = [],
  ): IpamPoolConfig[] {
    if (this.nets.has(netId)) throw systemError(`IPAM pools are already allocated for network ${netId}`);
    const name = req.name ?? netId;
    const byFamily: Record<Family, { cfg: IpamPoolConfig; cidr: Cidr }[]> = { 4: [], 6: [] };
    for (const cfg of req.config) {
      const cidr = parseCidr(cfg.Subnet ?? '');
      if (!cidr) throw IpamErrors.invalidSubnet(cfg.Subnet ?? '');
      byFamily[cidr.family].push({ cfg, cidr });
    }
    this.checkRanges([...byFamily[4], ...(req.enableIPv6 ? byFamily[6] : [])]);

    const external = existingNetworks
      .filter((n) => !this.nets.has(n.id) && n.id !== netId)
      .flatMap((n) => n.subnets.map((s) => parseCidr(s)))
      .filter((c): c is Cidr => c !== null);
    const routes = parseHostRoutes(hostRoutes);

    const state: NetState = {
      id: netId,
      name,
      pools: { 4: [], 6: [] },
      userSubnet: { 4: byFamily[4].length > 0, 6: byFamily[6].length > 0 },
    };
    const out: IpamPoolConfig[] = [];
    try {
      for (const family of [4, 6] as const) {
        if (family === 6 && !req.enableIPv6) continue;
        const entries = byFamily[family].length > 0 ? byFamily[family] : [null];
        for (const e of entries) {
          const np = this.allocateOne(family, e, name, external, routes);
          state.pools[family].push(np);
          const resolved: IpamPoolConfig = {
            Subnet: np.master.key,
            Gateway: formatIp(family, np.gateway!),
          };
          if (e?.cfg.IPRange) resolved.IPRange = e.cfg.IPRange;
          if (e?.cfg.AuxiliaryAddresses && Object.keys(e.cfg.AuxiliaryAddresses).length > 0) {
            resolved.AuxiliaryAddresses = { ...e.cfg.AuxiliaryAddresses };
          }
          out.push(resolved);
        }
      }
    } catch (err) {
      this.releaseState(state);
      throw err;
    }
    if (!req.enableIPv6) for (const e of byFamily[6]) out.push({ ...e.cfg });
    this.nets.set(netId, state);
    return out;
  }

  /**
   * Re-registers a stored network at daemon start (no default-pool search, no cursor move).
   * Gateways and aux addresses are reserved again; endpoints follow with markAllocated.
   */
  restorePools(netId: string, reqOrConfig: RestoreRequest | IpamPoolConfig[]): void {
    // The bare-array form cannot tell user subnets from default ones: it allows static IPs.
    const req: RestoreRequest = Array.isArray(reqOrConfig)
      ? { config: reqOrConfig, enableIPv6: true, userConfigured: { v4: true, v6: true } }
      : reqOrConfig;
    if (this.nets.has(netId)) throw systemError(`IPAM pools are already allocated for network ${netId}`);
    const state: NetState = {
      id: netId,
      name: req.name ?? netId,
      pools: { 4: [], 6: [] },
      userSubnet: { 4: req.userConfigured.v4, 6: req.userConfigured.v6 },
    };
    try {
      for (const cfg of req.config) {
        const cidr = parseCidr(cfg.Subnet ?? '');
        if (!cidr) throw IpamErrors.invalidSubnet(cfg.Subnet ?? '');
        if (cidr.family === 6 && !req.enableIPv6) continue;
        // The store's pools were checked for overlaps when they were allocated: re-checking each
        // against all the others made a restart quadratic in the number of networks.
        const np = this.requestPool(cidr, cfg.Subnet, cfg.IPRange ?? '', [], false);
        state.pools[cidr.family].push(np);
        const gw = cfg.Gateway ? parseIp(cfg.Gateway) : null;
        if (gw && cidrContains(np.master.cidr, gw)) {
          np.master.bits.set(ordinalOf(np.master.cidr, gw.value));
          np.gateway = gw.value;
        }
        for (const v of Object.values(cfg.AuxiliaryAddresses ?? {})) {
          const ip = parseIp(v);
          if (ip && cidrContains(np.master.cidr, ip)) {
            np.master.bits.set(ordinalOf(np.master.cidr, ip.value));
            np.aux.push(ip.value);
          }
        }
      }
    } catch (err) {
      this.releaseState(state);
      throw err;
    }
    this.nets.set(netId, state);
  }

  /** Releases a network's gateways, aux addresses and pools. Unknown ids are ignored. */
  releasePools(netId: string): void {
    const state = this.nets.get(netId);
    if (!state) return;
    this.nets.delete(netId);
    this.releaseState(state);
  }

  /** Whether the user configured a subnet of this family (Docker's condition for static IPs). */
  hasUserSubnet(netId: string, family: Family | FamilyName): boolean {
    return this.nets.get(netId)?.userSubnet[toFamily(family)] ?? false;
  }

  /**
   * daemon/container_operations.go validateNetworkingConfig: static addresses need a
   * user-configured subnet of their family. Call before allocating anything for an endpoint.
   */
  validateStaticAddresses(netId: string, req: { ipv4?: string; ipv6?: string }): void {
    if (req.ipv4 && !this.hasUserSubnet(netId, 4)) throw IpamErrors.staticIpNeedsUserSubnet();
    if (req.ipv6 && !this.hasUserSubnet(netId, 6)) throw IpamErrors.staticIpNeedsUserSubnet();
  }

  /**
   * Allocates an endpoint address; returns CIDR form ("172.18.0.2/16"), or '' for IPv6 on a
   * network without IPv6 pools (Docker: "ipv6 address is not mandatory").
   */
  requestAddress(netId: string, fam: Family | FamilyName, preferred?: string): string {
    const family = toFamily(fam);
    const state = this.state(netId);
    const pools = state.pools[family];
    let pref: IpAddress | null = null;
    if (preferred) {
      pref = parseIpLoose(preferred);
      if (!pref) throw IpamErrors.addressNotInSubnets(preferred);
      if (!state.userSubnet[family]) throw IpamErrors.staticIpNeedsUserSubnet();
    }
    if (pools.length === 0 && family === 6) return '';
    for (const np of pools) {
      if (pref && !cidrContains(np.master.cidr, pref)) continue;
      try {
        const v = this.getAddress(np, pref);
        return formatAddrWithPrefix(np.master.cidr, v);
      } catch (err) {
        if (pref || !(err instanceof WeftError) || err.message !== IpamErrors.noAvailableIPs().message) throw err;
      }
    }
    if (pref) throw IpamErrors.addressNotInSubnets(formatIp(pref.family, pref.value));
    throw IpamErrors.noAddressesOnNetwork(family, state.name, state.id);
  }

  /** Frees an endpoint address ("172.18.0.2/16" or "172.18.0.2"). False when it was not held. */
  releaseAddress(netId: string, addr: string): boolean {
    const state = this.nets.get(netId);
    const ip = parseIpLoose(addr);
    if (!state || !ip) return false;
    for (const np of state.pools[ip.family]) {
      if (cidrContains(np.master.cidr, ip)) return np.master.bits.unset(ordinalOf(np.master.cidr, ip.value));
    }
    return false;
  }

  /** Marks a stored endpoint's address as taken (startup rebuild). Idempotent. */
  markAllocated(netId: string, addr: string): void {
    const state = this.state(netId);
    const ip = parseIpLoose(addr);
    if (!ip) throw IpamErrors.addressNotInSubnets(addr);
    for (const np of state.pools[ip.family]) {
      if (!cidrContains(np.master.cidr, ip)) continue;
      const o = ordinalOf(np.master.cidr, ip.value);
      if (o >= np.master.bits.size) throw IpamErrors.ipOutOfRange();
      np.master.bits.set(o);
      return;
    }
    throw IpamErrors.addressNotInSubnets(formatIp(ip.family, ip.value));
  }

  /** Whether an address is currently taken in the network's pools (tests, diagnostics). */
  isAllocated(netId: string, addr: string): boolean {
    const state = this.nets.get(netId);
    const ip = parseIpLoose(addr);
    if (!state || !ip) return false;
    return state.pools[ip.family].some(
      (np) => cidrContains(np.master.cidr, ip) && np.master.bits.isSet(ordinalOf(np.master.cidr, ip.value)),
    );
  }

  /** Normalized subnets of every pool held (all networks). */
  allocatedSubnets(): string[] {
    return [...this.masters.keys()];
  }

  // ---- internals ----

  private state(netId: string): NetState {
    const s = this.nets.get(netId);
    if (!s) throw systemError(`no IPAM state for network ${netId}`);
    return s;
  }

  /** Where 20.10 silently computes a bogus range, refuse with moby >= 25's ValidateIPAM texts. */
  private checkRanges(entries: { cfg: IpamPoolConfig; cidr: Cidr }[]): void {
    const lines: string[] = [];
    for (const { cfg, cidr } of entries) {
      if (!cfg.IPRange) continue;
      const r = parseCidr(cfg.IPRange);
      if (!r) continue; // 20.10's own error comes later (invalidSubPool)
      const subnet = `${formatIp(cidr.family, cidr.ip)}/${cidr.prefix}`;
      if (r.family !== cidr.family) {
        lines.push(`invalid ip-range ${cfg.IPRange}: parent subnet is an IPv${cidr.family} block`);
        continue;
      }
      if (r.prefix < cidr.prefix) {
        lines.push(`invalid ip-range ${cfg.IPRange}: CIDR block is bigger than its parent subnet ${subnet}`);
      }
      const overlaps = cidrContains(cidr, { family: r.family, value: r.network }) || cidrContains(r, { family: cidr.family, value: cidr.network });
      if (!overlaps) lines.push(`invalid ip-range ${cfg.IPRange}: parent subnet ${subnet} doesn't contain ip-range`);
    }
    if (lines.length > 0) throw IpamErrors.invalidNetworkConfig(lines);
  }

  private allocateOne(
    family: Family,
    e: { cfg: IpamPoolConfig; cidr: Cidr } | null,
    netName: string,
    external: Cidr[],
    routes: Cidr[],
  ): NetPool {
    const cfg: IpamPoolConfig | null = e?.cfg ?? null;
    let gwPref: IpAddress | null = null;
    if (cfg?.Gateway) {
      gwPref = parseIp(cfg.Gateway);
      if (!gwPref) throw IpamErrors.invalidGateway(cfg.Gateway);
    }
    const np = e ? this.requestPool(e.cidr, e.cfg.Subnet, e.cfg.IPRange ?? '', external) : this.requestPredefined(family, external, routes);
    try {
      try {
        np.gateway = this.getAddress(np, gwPref);
      } catch (err) {
        throw err instanceof WeftError ? IpamErrors.gatewayAlloc(cfg?.Gateway ?? '', err) : err;
      }
      for (const [k, v] of Object.entries(cfg?.AuxiliaryAddresses ?? {})) {
        const ip = parseIp(v);
        if (!ip) throw IpamErrors.auxUnparsable(k, v, netName);
        if (!cidrContains(np.master.cidr, ip)) throw IpamErrors.auxOutsidePool(k, v, np.master.key);
        try {
          np.aux.push(this.getAddress(np, ip));
        } catch (err) {
          if (err instanceof WeftError) throw IpamErrors.auxAlloc(k, v, err);
          throw err;
        }
      }
    } catch (err) {
      this.releaseNetPool(np);
      throw err;
    }
    return np;
  }

  /** RequestPool for a user subnet (and optional --ip-range): allocator.go + structures.go updatePoolDBOnAdd. */
  private requestPool(cidr: Cidr, rawPool: string, rawRange: string, external: Cidr[], checkOverlap = true): NetPool {
    const key = formatCidr(cidr);
    let range: NetPool['range'] = null;
    if (rawRange) {
      const r = parseCidr(rawRange);
      if (!r) throw IpamErrors.invalidSubPool(rawPool, rawRange);
      const max = ordinalCount(cidr) - 1n;
      const start = ordinalOf(cidr, r.network);
      let end = ordinalOf(cidr, lastAddress(r));
      if (end > max) end = max;
      range = { start, end };
    }
    const existing = this.masters.get(key);
    if (!rawRange) {
      if (existing) throw IpamErrors.poolOverlap();
      if (checkOverlap) {
        for (const m of this.masters.values()) if (cidrOverlaps(cidr, m.cidr)) throw IpamErrors.poolOverlap();
        if (overlapsAny(cidr, external)) throw IpamErrors.poolOverlap();
      }
      const m = newMaster(cidr);
      this.masters.set(key, m);
      return { master: m, childKey: null, range: null, gateway: null, aux: [] };
    }
    if (existing) {
      if (existing.children.has(rawRange)) throw IpamErrors.poolOverlap();
      existing.children.set(rawRange, 1);
      existing.refs++;
      return { master: existing, childKey: rawRange, range, gateway: null, aux: [] };
    }
    const m = newMaster(cidr);
    m.children.set(rawRange, 1);
    this.masters.set(key, m);
    return { master: m, childKey: rawRange, range, gateway: null, aux: [] };
  }

  /** network.go requestPoolHelper + allocator.go getPredefinedPool, with the held-pool retry. */
  private requestPredefined(family: Family, external: Cidr[], routes: Cidr[]): NetPool {
    const held: NetPool[] = [];
    try {
      for (;;) {
        const nw = this.nextPredefined(family, external);
        const m = newMaster(nw);
        this.masters.set(m.key, m);
        const np: NetPool = { master: m, childKey: null, range: null, gateway: null, aux: [] };
        if (!overlapsAny(nw, routes)) return np;
        held.push(np); // keep it so the next search skips it; released below
      }
    } finally {
      for (const np of held) this.releaseNetPool(np);
    }
  }

  private nextPredefined(family: Family, external: Cidr[]): Cidr {
    const n = this.predefined.length;
    const start = this.cursor >= n ? 0n : this.cursor;
    const masterCidrs = [...this.masters.values()].map((m) => m.cidr);
    for (let j = 0n; j < n; j++) {
      let idx = start + j;
      if (idx >= n) idx -= n;
      const nw = this.predefined.at(idx);
      if (nw.family !== family) continue;
      if (this.masters.has(formatCidr(nw))) continue;
      if (overlapsAny(nw, masterCidrs) || overlapsAny(nw, external)) continue;
      // updatePredefinedStartIndex(i+1): start+i+1, reset to 0 past the end (not modulo).
      const next = start + j + 1n;
      this.cursor = next >= n ? 0n : next;
      return nw;
    }
    throw IpamErrors.noDefaultPool(family);
  }

  /** allocator.go getAddress. Returns the address value. */
  private getAddress(np: NetPool, pref: IpAddress | null): bigint {
    const { cidr, bits } = np.master;
    if (pref && !cidrContains(cidr, pref)) throw IpamErrors.ipOutOfRange();
    if (bits.unselected <= 0n) throw IpamErrors.noAvailableIPs();
    let o: bigint | null;
    if (pref) {
      o = ordinalOf(cidr, pref.value);
      if (o >= bits.size) throw IpamErrors.ipOutOfRange();
      if (!bits.set(o)) throw IpamErrors.ipAlreadyAllocated();
    } else if (np.range) {
      o = bits.setAnyInRange(np.range.start, np.range.end, this.serial);
    } else {
      o = bits.setAnyInRange(0n, bits.size - 1n, this.serial);
    }
    if (o === null) throw IpamErrors.noAvailableIPs();
    return cidr.network + o;
  }

  private releaseState(state: NetState): void {
    for (const family of [4, 6] as const) {
      for (const np of state.pools[family]) this.releaseNetPool(np);
      state.pools[family] = [];
    }
  }

  /** ipamReleaseVersion for one pool: gateway, aux addresses, then the pool (refcounted). */
  private releaseNetPool(np: NetPool): void {
    const m = np.master;
    if (np.gateway !== null) m.bits.unset(ordinalOf(m.cidr, np.gateway));
    for (const a of np.aux) m.bits.unset(ordinalOf(m.cidr, a));
    np.gateway = null;
    np.aux = [];
    if (np.childKey !== null) {
      const c = (m.children.get(np.childKey) ?? 1) - 1;
      if (c <= 0) m.children.delete(np.childKey);
      else m.children.set(np.childKey, c);
    }
    m.refs--;
    if (m.refs <= 0 && this.masters.get(m.key) === m) this.masters.delete(m.key);
  }
}

/**
 * The default bridge's IPAM config, as dockerd 20.10 derives it (daemon_unix.go
 * initBridgeDriver): --bip "172.20.0.1/16" gives Subnet 172.20.0.0/16 and Gateway 172.20.0.1;
 * without --bip, the first default pool that overlaps no host route (172.17.0.0/16 normally)
 * and no Gateway (the IPAM then picks .1); --fixed-cidr becomes the IPRange (normalized).
 * The engine should first reuse the address of an existing bridge device, as Docker does.
 */
export function defaultBridgeConfig(opts: {
  bip?: string | null;
  fixedCidr?: string | null;
  pools?: readonly PoolSpec[];
  hostRoutes?: readonly string[];
}): IpamPoolConfig {
  let cfg: IpamPoolConfig;
  if (opts.bip) {
    const c = parseCidr(opts.bip);
    if (!c || c.family !== 4) throw IpamErrors.invalidSubnet(opts.bip);
    cfg = { Subnet: formatCidr(c) };
    // hip.IsGlobalUnicast(): a zero host part means "no gateway given".
    if (ordinalOf(c, c.ip) !== 0n) cfg.Gateway = formatIp(4, c.ip);
  } else {
    const nw = findAvailableNetwork(new PredefinedPools(opts.pools ?? DOCKER_DEFAULT_POOLS), opts.hostRoutes ?? []);
    if (!nw || nw.family !== 4) throw IpamErrors.noDefaultPool(4);
    cfg = { Subnet: formatCidr(nw) };
  }
  if (opts.fixedCidr) {
    const f = parseCidr(opts.fixedCidr);
    if (!f) throw IpamErrors.invalidSubnet(opts.fixedCidr);
    cfg.IPRange = formatCidr(f);
  }
  return cfg;
}

