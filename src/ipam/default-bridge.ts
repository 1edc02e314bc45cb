import type { IpamPoolConfig } from '../common/model.js';
import { formatCidr, formatIp, ordinalOf, parseCidr } from './cidr.js';
import { IpamErrors } from './errors.js';
import { DOCKER_DEFAULT_POOLS, PredefinedPools, findAvailableNetwork, type PoolSpec } from './pools.js';

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

