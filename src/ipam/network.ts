import type { IpamPoolConfig } from '../common/model.js';
import { WeftError } from '../common/errors.js';
import { GATEWAY_ADDRESS, REPLAY, REQUEST_ADDRESS_TYPE, type IpamDriver } from './api.js';
import { type Cidr, type Family, type IpAddress, cidrContains, formatCidr, formatIp, parseCidr, parseIp, parseIpLoose } from './cidr.js';
import { IpamErrors } from './errors.js';
import { overlapsAny, parseHostRoutes } from './pools.js';

// A network's addresses, whatever its IPAM driver: libnetwork network.go ipamAllocate and
// endpoint.go assignAddress, over the ipamapi interface. Per network it keeps the pools it was
// granted (IDs are the driver's), its gateways and aux addresses, and whether the user chose the
// subnets (Docker allows static container addresses only then).

export interface NetworkPoolsRequest {
  netId: string;
  /** Network name, for error texts. */
  name: string;
  driver: IpamDriver;
  addressSpace: string;
  /** The user's IPAM config entries (--subnet/--ip-range/--gateway/--aux-address); may be empty. */
  config: IpamPoolConfig[];
  enableIPv6: boolean;
  options?: Record<string, string> | null;
  /** Subnets of networks not held here: a default pool overlapping one is skipped, a user pool refused. */
  taken?: readonly string[];
  /** Host routes: a default pool overlapping one is skipped (user subnets are not checked, as in Docker). */
  routes?: readonly string[];
}

export interface RestoreRequest extends Omit<NetworkPoolsRequest, 'taken' | 'routes'> {
  /** The resolved config as requestPools returned it. */
  config: IpamPoolConfig[];
  /** Whether the user configured a subnet of that family at create time (gates static IPs). */
  userConfigured: { v4: boolean; v6: boolean };
}

interface HeldPool {
  poolId: string;
  cidr: Cidr;
  gateway: string; // plain address, '' when the driver gave none
  aux: string[];
}

interface NetState {
  id: string;
  name: string;
  driver: IpamDriver;
  pools: Record<Family, HeldPool[]>;
  userSubnet: Record<Family, boolean>;
}

export type FamilyName = 'v4' | 'v6';
const toFamily = (f: Family | FamilyName): Family => (f === 'v4' || f === 4 ? 4 : 6);
const GATEWAY_OPTS = { [REQUEST_ADDRESS_TYPE]: GATEWAY_ADDRESS };
const REPLAY_OPTS = { [REPLAY]: 'true' };
const plain = (cidrAddress: string) => cidrAddress.split('/')[0];
const subnetOf = (c: Cidr) => formatCidr({ ...c, ip: c.network });

export class NetworkAddressing {
  private readonly nets = new Map<string, NetState>();

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
  async requestPools(req: NetworkPoolsRequest): Promise<IpamPoolConfig[]> {
    if (this.nets.has(req.netId)) throw IpamErrors.poolsHeld(req.netId);
    const byFamily: Record<Family, { cfg: IpamPoolConfig; cidr: Cidr }[]> = { 4: [], 6: [] };
    for (const cfg of req.config) {
      const cidr = parseCidr(cfg.Subnet ?? '');
      if (!cidr) throw IpamErrors.invalidSubnet(cfg.Subnet ?? '');
      byFamily[cidr.family].push({ cfg, cidr });
    }
    checkRanges([...byFamily[4], ...(req.enableIPv6 ? byFamily[6] : [])]);
    const taken = (req.taken ?? []).map((s) => parseCidr(s)).filter((c): c is Cidr => c !== null);
    const routes = parseHostRoutes(req.routes ?? []);
    const state = this.newState(req, { 4: byFamily[4].length > 0, 6: byFamily[6].length > 0 });
    const out: IpamPoolConfig[] = [];
    try {
      for (const family of [4, 6] as const) {
        if (family === 6 && !req.enableIPv6) continue;
        const entries = byFamily[family].length > 0 ? byFamily[family] : [null];
        for (const e of entries) {
          const held = await this.allocateOne(req, family, e?.cfg ?? null, taken, routes);
          state.pools[family].push(held);
          const resolved: IpamPoolConfig = { Subnet: subnetOf(held.cidr) };
          if (held.gateway) resolved.Gateway = held.gateway;
          if (e?.cfg.IPRange) resolved.IPRange = e.cfg.IPRange;
          if (e?.cfg.AuxiliaryAddresses && Object.keys(e.cfg.AuxiliaryAddresses).length > 0) resolved.AuxiliaryAddresses = { ...e.cfg.AuxiliaryAddresses };
          out.push(resolved);
        }
      }
    } catch (err) {
      await this.releaseState(state);
      throw err;
    }
    if (!req.enableIPv6) for (const e of byFamily[6]) out.push({ ...e.cfg });
    this.nets.set(req.netId, state);
    return out;
  }

  /**
   * Replays a stored network's pools at daemon start (no default-pool search, no overlap check):
   * gateways and aux addresses are reserved again; endpoints follow with markAllocated.
   */
  async restorePools(req: RestoreRequest): Promise<void> {
    if (this.nets.has(req.netId)) throw IpamErrors.poolsHeld(req.netId);
    const state = this.newState(req, { 4: req.userConfigured.v4, 6: req.userConfigured.v6 });
    try {
      for (const cfg of req.config) {
        const cidr = parseCidr(cfg.Subnet ?? '');
        if (!cidr) throw IpamErrors.invalidSubnet(cfg.Subnet ?? '');
        if (cidr.family === 6 && !req.enableIPv6) continue;
        const grant = await req.driver.requestPool({ addressSpace: req.addressSpace, pool: cfg.Subnet, subPool: cfg.IPRange || undefined, options: { ...(req.options ?? {}), ...REPLAY_OPTS }, v6: cidr.family === 6 });
        const held: HeldPool = { poolId: grant.poolId, cidr: parseCidr(grant.pool) ?? cidr, gateway: '', aux: [] };
        state.pools[cidr.family].push(held);
        const gw = cfg.Gateway ? parseIp(cfg.Gateway) : null;
        if (gw && cidrContains(held.cidr, gw)) {
          await req.driver.requestAddress(held.poolId, cfg.Gateway, { ...GATEWAY_OPTS, ...REPLAY_OPTS });
          held.gateway = cfg.Gateway!;
        }
        for (const v of Object.values(cfg.AuxiliaryAddresses ?? {})) {
          const ip = parseIp(v);
          if (!ip || !cidrContains(held.cidr, ip)) continue;
          await req.driver.requestAddress(held.poolId, v, REPLAY_OPTS);
          held.aux.push(v);
        }
      }
    } catch (err) {
      await this.releaseState(state);
      throw err;
    }
    this.nets.set(req.netId, state);
  }

  /** Releases a network's gateways, aux addresses and pools. Unknown ids are ignored. */
  async releasePools(netId: string): Promise<void> {
    const state = this.nets.get(netId);
    if (!state) return;
    this.nets.delete(netId);
    await this.releaseState(state);
  }

  /** Drops a network's state without releasing anything (another host released it). */
  forget(netId: string): void {
    this.nets.delete(netId);
  }

  /** Whether the user configured a subnet of this family (Docker's condition for static IPs). */
  hasUserSubnet(netId: string, family: Family | FamilyName): boolean {
    return this.nets.get(netId)?.userSubnet[toFamily(family)] ?? false;
  }

  /**
   * An endpoint address in CIDR form ("172.18.0.2/16"): the preferred one, or the first free one
   * of the family's pools in order; '' for IPv6 on a network without IPv6 pools (Docker: "ipv6
   * address is not mandatory"), and where the driver hands out none (null IPAM).
   */
  async requestAddress(netId: string, fam: Family | FamilyName, preferred?: string): Promise<string> {
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
    for (const held of pools) {
      if (pref && !cidrContains(held.cidr, pref)) continue;
      try {
        return (await state.driver.requestAddress(held.poolId, pref ? formatIp(pref.family, pref.value) : undefined)).address;
      } catch (err) {
        if (pref || !(err instanceof WeftError) || err.message !== IpamErrors.noAvailableIPs().message) throw err;
      }
    }
    if (pref) throw IpamErrors.addressNotInSubnets(formatIp(pref.family, pref.value));
    throw IpamErrors.noAddressesOnNetwork(family, state.name, state.id);
  }

  /** Frees an endpoint address ("172.18.0.2/16" or "172.18.0.2"). */
  async releaseAddress(netId: string, addr: string): Promise<void> {
    const state = this.nets.get(netId);
    const held = state && this.poolHolding(state, addr);
    if (held) await state.driver.releaseAddress(held.poolId, plain(addr));
  }

  /** Marks a stored endpoint's address as taken again (startup replay). Idempotent. */
  async markAllocated(netId: string, addr: string): Promise<void> {
    const state = this.state(netId);
    const held = this.poolHolding(state, addr);
    if (!held) throw IpamErrors.addressNotInSubnets(plain(addr));
    await state.driver.requestAddress(held.poolId, plain(addr), REPLAY_OPTS);
  }

  /** The network's pools, for diagnostics and tests: pool ID and subnet. */
  poolsOf(netId: string): { poolId: string; subnet: string }[] {
    const state = this.nets.get(netId);
    if (!state) return [];
    return [...state.pools[4], ...state.pools[6]].map((p) => ({ poolId: p.poolId, subnet: subnetOf(p.cidr) }));
  }

  // ---- internals ----

  private newState(req: { netId: string; name: string; driver: IpamDriver }, userSubnet: Record<Family, boolean>): NetState {
    return { id: req.netId, name: req.name || req.netId, driver: req.driver, pools: { 4: [], 6: [] }, userSubnet };
  }

  private state(netId: string): NetState {
    const s = this.nets.get(netId);
    if (!s) throw IpamErrors.noState(netId);
    return s;
  }

  private poolHolding(state: NetState, addr: string): HeldPool | undefined {
    const ip = parseIpLoose(addr);
    return ip ? state.pools[ip.family].find((p) => cidrContains(p.cidr, ip)) : undefined;
  }

  /** One pool with its gateway and aux addresses (ipamAllocateVersion). */
  private async allocateOne(req: NetworkPoolsRequest, family: Family, cfg: IpamPoolConfig | null, taken: Cidr[], routes: Cidr[]): Promise<HeldPool> {
    if (cfg?.Gateway && !parseIp(cfg.Gateway)) throw IpamErrors.invalidGateway(cfg.Gateway);
    const held = cfg ? await this.requestUserPool(req, family, cfg, taken) : await this.requestDefaultPool(req, family, taken, routes);
    try {
      try {
        held.gateway = plain((await req.driver.requestAddress(held.poolId, cfg?.Gateway || undefined, GATEWAY_OPTS)).address);
      } catch (err) {
        throw err instanceof WeftError ? IpamErrors.gatewayAlloc(cfg?.Gateway ?? '', err) : err;
      }
      for (const [k, v] of Object.entries(cfg?.AuxiliaryAddresses ?? {})) {
        const ip = parseIp(v);
        if (!ip) throw IpamErrors.auxUnparsable(k, v, req.name);
        if (!cidrContains(held.cidr, ip)) throw IpamErrors.auxOutsidePool(k, v, subnetOf(held.cidr));
        try {
          await req.driver.requestAddress(held.poolId, v);
        } catch (err) {
          throw err instanceof WeftError ? IpamErrors.auxAlloc(k, v, err) : err;
        }
        held.aux.push(v);
      }
    } catch (err) {
      await this.releaseHeld(req.driver, held);
      throw err;
    }
    return held;
  }

  private async requestUserPool(req: NetworkPoolsRequest, family: Family, cfg: IpamPoolConfig, taken: Cidr[]): Promise<HeldPool> {
    const cidr = parseCidr(cfg.Subnet)!;
    if (!cfg.IPRange && overlapsAny(cidr, taken)) throw IpamErrors.poolOverlap();
    const grant = await req.driver.requestPool({ addressSpace: req.addressSpace, pool: cfg.Subnet, subPool: cfg.IPRange || undefined, options: req.options ?? {}, v6: family === 6 });
    return { poolId: grant.poolId, cidr: parseCidr(grant.pool) ?? cidr, gateway: '', aux: [] };
  }

  /**
   * network.go requestPoolHelper: a default pool that overlaps a host route or another
   * network's subnet is held (so the driver's next answer is another pool) and released once a
   * good one is found. A driver answering the same pool twice has no other: the search ends.
   */
  private async requestDefaultPool(req: NetworkPoolsRequest, family: Family, taken: Cidr[], routes: Cidr[]): Promise<HeldPool> {
    const held: string[] = [];
    const seen = new Set<string>();
    try {
      for (;;) {
        const grant = await req.driver.requestPool({ addressSpace: req.addressSpace, options: req.options ?? {}, v6: family === 6 });
        const cidr = parseCidr(grant.pool);
        if (!cidr || seen.has(grant.pool)) {
          await req.driver.releasePool(grant.poolId);
          throw IpamErrors.noDefaultPool(family);
        }
        seen.add(grant.pool);
        if (!overlapsAny(cidr, routes) && !overlapsAny(cidr, taken)) return { poolId: grant.poolId, cidr, gateway: '', aux: [] };
        held.push(grant.poolId);
      }
    } finally {
      for (const poolId of held) await req.driver.releasePool(poolId);
    }
  }

  private async releaseState(state: NetState): Promise<void> {
    for (const family of [4, 6] as const) {
      for (const held of state.pools[family]) await this.releaseHeld(state.driver, held);
      state.pools[family] = [];
    }
  }

  /** ipamReleaseVersion for one pool: gateway, aux addresses, then the pool. */
  private async releaseHeld(driver: IpamDriver, held: HeldPool): Promise<void> {
    if (held.gateway) await driver.releaseAddress(held.poolId, held.gateway);
    for (const a of held.aux) await driver.releaseAddress(held.poolId, a);
    held.gateway = '';
    held.aux = [];
    await driver.releasePool(held.poolId);
  }
}

/**
 * Where 20.10 silently computes a bogus range, or fails with a 500 (a gateway outside its subnet,
 * an unparsable ip-range), refuse with moby >= 25's ValidateIPAM texts instead.
 */
function checkRanges(entries: { cfg: IpamPoolConfig; cidr: Cidr }[]): void {
  const lines: string[] = [];
  for (const { cfg, cidr } of entries) {
    const subnet = `${formatIp(cidr.family, cidr.ip)}/${cidr.prefix}`;
    lines.push(...rangeProblems(cfg.IPRange, cidr, subnet));
    const gw = cfg.Gateway ? parseIp(cfg.Gateway) : null; // unparsable: 20.10's invalidGateway comes later
    if (gw && gw.family !== cidr.family) lines.push(`invalid gateway ${cfg.Gateway}: parent subnet is an IPv${cidr.family} block`);
    else if (gw && !cidrContains(cidr, gw)) lines.push(`invalid gateway ${cfg.Gateway}: parent subnet ${subnet} doesn't contain this address`);
  }
  if (lines.length > 0) throw IpamErrors.invalidNetworkConfig(lines);
}

function rangeProblems(ipRange: string | undefined, cidr: Cidr, subnet: string): string[] {
  if (!ipRange) return [];
  const r = parseCidr(ipRange);
  if (!r) return [`invalid ip-range ${ipRange}: invalid CIDR block notation`];
  if (r.family !== cidr.family) return [`invalid ip-range ${ipRange}: parent subnet is an IPv${cidr.family} block`];
  const lines: string[] = [];
  if (r.prefix < cidr.prefix) lines.push(`invalid ip-range ${ipRange}: CIDR block is bigger than its parent subnet ${subnet}`);
  const overlaps = cidrContains(cidr, { family: r.family, value: r.network }) || cidrContains(r, { family: cidr.family, value: cidr.network });
  if (!overlaps) lines.push(`invalid ip-range ${ipRange}: parent subnet ${subnet} doesn't contain ip-range`);
  return lines;
}
