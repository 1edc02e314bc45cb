import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { assertBatchSafe } from '../../kernel/batch.js';
import { macFromNetworkId } from '../../common/mac.js';
import type { BridgeConfig } from './options.js';

// Pure builders of `ip -batch` lines for the bridge driver (unit-tested as text).

/** Host-side veth name: "veth" + 7 hex of the endpoint id (the engine records the same). */
export function vethName(ep: EndpointRecord): string {
  return ep.hostIfname || `veth${ep.id.slice(0, 7)}`;
}

/** Gateway addresses of a network in CIDR form ("10.1.0.1/24"), v6 only when enabled. */
export function gatewayCidrs(net: NetworkRecord): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const pool of net.ipam.config) {
    if (!pool.Gateway || !pool.Subnet) continue;
    const cidr = `${pool.Gateway}/${pool.Subnet.split('/')[1]}`;
    if (pool.Subnet.includes(':')) {
      if (net.enableIPv6) v6.push(cidr);
    } else v4.push(cidr);
  }
  return { v4, v6 };
}

/** Creates the bridge (line 1 may fail with "File exists": the rest then brings it in line). */
export function bridgeUpLines(net: NetworkRecord, cfg: BridgeConfig, create = true): string[] {
  const br = cfg.bridgeName;
  const lines = create ? [`link add ${br} type bridge`] : [];
  lines.push(`link set ${br} address ${macFromNetworkId(net.id)} mtu ${cfg.mtu} up`);
  const gw = gatewayCidrs(net);
  for (const a of gw.v4) lines.push(`addr replace ${a} brd + dev ${br}`);
  for (const a of gw.v6) lines.push(`addr replace ${a} dev ${br} nodad`);
  return lines;
}

/**
 * Host side of a join, run in the daemon's namespace: the veth pair is created with its peer
 * directly inside the sandbox under its final name (ip accepts a netns path), so no rename
 * and no move is needed.
 */
export function joinHostLines(cfg: BridgeConfig, ep: EndpointRecord, netnsPath: string): string[] {
  const veth = assertBatchSafe(vethName(ep), 'interface name');
  const peer = [`peer name ${assertBatchSafe(ep.ifname, 'interface name')} mtu ${cfg.mtu}`];
  if (ep.mac) peer.push(`address ${assertBatchSafe(ep.mac, 'MAC')}`);
  peer.push(`netns ${assertBatchSafe(netnsPath, 'namespace path')}`);
  return [`link add ${veth} mtu ${cfg.mtu} type veth ${peer.join(' ')}`, ...enslaveLines(cfg, ep)];
}

/**
 * Puts the host veth on the bridge. An endpoint with published ports gets hairpin mode (as
 * Docker does without its userland proxy): with bridge netfilter, a container reaching its own
 * published port is DNAT'd while still being bridged, and the frame must go back out the port
 * it came in on.
 */
export function enslaveLines(cfg: BridgeConfig, ep: EndpointRecord): string[] {
  const veth = assertBatchSafe(vethName(ep), 'interface name');
  const lines = [`link set ${veth} master ${cfg.bridgeName} up`];
  if (ep.ports?.length) lines.push(`link set ${veth} type bridge_slave hairpin on`);
  return lines;
}

/** Sandbox side of a join, run inside the container's namespace. */
export function joinSandboxLines(ep: EndpointRecord, defaultRoute: boolean): string[] {
  const dev = ep.ifname;
  const lines: string[] = [];
  if (ep.ipv4) lines.push(`addr replace ${ep.ipv4} brd + dev ${dev}`);
  if (ep.ipv6) lines.push(`addr replace ${ep.ipv6} dev ${dev} nodad`);
  lines.push(`link set ${dev} up`);
  if (defaultRoute) lines.push(...defaultRouteLines(ep));
  return lines;
}

/** The sandbox's default routes through this endpoint's gateways (at a join, or when it takes over the route). */
export function defaultRouteLines(ep: EndpointRecord): string[] {
  const lines: string[] = [];
  if (ep.gateway4 && ep.ipv4) lines.push(`route replace default via ${ep.gateway4} dev ${ep.ifname}`);
  if (ep.gateway6 && ep.ipv6) lines.push(`route replace default via ${ep.gateway6} dev ${ep.ifname}`);
  return lines;
}
