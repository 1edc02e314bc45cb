import { isIP } from 'node:net';
import type { EndpointRecord, NetworkRecord, PortMapping } from '../common/model.js';
import type { Step } from '../kernel/types.js';
import { sandboxSteps } from '../drivers/plumbing.js';
import { parseCidr } from '../ipam/cidr.js';

// What a network plugin's Join answer means for the sandbox, as libnetwork applies it (osl):
// the interface the plugin names (SrcName, in the daemon's namespace) moves into the sandbox and
// is renamed DstPrefix + index, gets the endpoint's MAC and addresses (the bridge driver's
// sandbox steps), the default route through the plugin's Gateway when this endpoint provides it,
// and the static routes (RouteType 0: via NextHop, 1: connected). Pure builders and parsers,
// unit-tested as data.

export interface StaticRoute {
  destination: string;
  /** 0 NEXTHOP (via nextHop), 1 CONNECTED (on the link). */
  routeType: 0 | 1;
  nextHop: string;
}

export interface JoinAnswer {
  /** The interface to move in; '' when the plugin named none (nothing is moved). */
  srcName: string;
  dstPrefix: string;
  gateway4: string;
  gateway6: string;
  routes: StaticRoute[];
  disableGatewayService: boolean;
}

const IFNAME = /^[A-Za-z0-9_.@+-]{1,15}$/;

/** Validates a Join answer with libnetwork's texts; throws Error on what it would refuse. */
export function parseJoinAnswer(res: Record<string, unknown>): JoinAnswer {
  const name = (res.InterfaceName ?? null) as { SrcName?: unknown; DstPrefix?: unknown } | null;
  const srcName = typeof name?.SrcName === 'string' ? name.SrcName : '';
  const dstPrefix = typeof name?.DstPrefix === 'string' && name.DstPrefix ? name.DstPrefix : 'eth';
  if (srcName && !IFNAME.test(srcName)) throw new Error(`failed to set interface name: invalid SrcName ${JSON.stringify(srcName)}`);
  if (!/^[A-Za-z_.-]{1,12}$/.test(dstPrefix)) throw new Error(`failed to set interface name: invalid DstPrefix ${JSON.stringify(dstPrefix)}`);
  const gw = (key: 'Gateway' | 'GatewayIPv6', family: 4 | 6) => {
    const v = typeof res[key] === 'string' ? (res[key] as string) : '';
    if (v && isIP(v) !== family) throw new Error(`unable to parse ${key} "${v}"`);
    return v;
  };
  const routes: StaticRoute[] = [];
  for (const r of Array.isArray(res.StaticRoutes) ? (res.StaticRoutes as Record<string, unknown>[]) : []) {
    const destination = String(r?.Destination ?? '');
    if (!parseCidr(destination)) throw new Error(`invalid CIDR address: ${destination}`);
    const nextHop = String(r?.NextHop ?? '');
    if (nextHop && !isIP(nextHop)) throw new Error(`failed to parse nexthop IP ${nextHop}`);
    const routeType = r?.RouteType === 1 ? 1 : 0;
    if (routeType === 0 && !nextHop) throw new Error(`failed to set static route: ${destination} has no NextHop`);
    routes.push({ destination, routeType, nextHop });
  }
  return { srcName, dstPrefix, gateway4: gw('Gateway', 4), gateway6: gw('GatewayIPv6', 6), routes, disableGatewayService: res.DisableGatewayService === true };
}

/** The name in the sandbox: the prefix and the engine's interface index (eth1 -> <prefix>1). */
export function sandboxIfname(ep: EndpointRecord, prefix: string): string {
  const index = /(\d+)$/.exec(ep.ifname)?.[1] ?? '0';
  return `${prefix}${index}`;
}

/** ifalias of a plugin's interface in a sandbox: which endpoint it is and its name outside. */
export const pluginAlias = (ep: EndpointRecord, srcName: string) => `weft-plugin:${ep.id.slice(0, 12)}:${srcName}`;

/** Reads pluginAlias back for an endpoint: the interface's name outside, or null when it is not that endpoint's. */
export function srcNameFromAlias(ep: EndpointRecord, alias: string | undefined): string | null {
  const prefix = `weft-plugin:${ep.id.slice(0, 12)}:`;
  return alias?.startsWith(prefix) ? alias.slice(prefix.length) : null;
}

/** The steps of a join, daemon side then sandbox side (one plan). */
export function joinSteps(ep: EndpointRecord, ans: JoinAnswer, netnsPath: string, defaultRoute: boolean): Step[] {
  if (!ans.srcName) return [];
  const dev = sandboxIfname(ep, ans.dstPrefix);
  const ns = netnsPath;
  const steps: Step[] = [
    { op: 'link.set', name: ans.srcName, netns: netnsPath, rename: dev },
    { op: 'link.set', ns, name: dev, alias: pluginAlias(ep, ans.srcName), ...(ep.mac ? { mac: ep.mac } : {}) },
  ];
  // The shared sandbox side, with the plugin's gateways (libnetwork uses only those).
  steps.push(...sandboxSteps({ ...ep, ifname: dev, gateway4: ans.gateway4, gateway6: ans.gateway6 }, defaultRoute, ns));
  for (const r of ans.routes) {
    steps.push(r.routeType === 1 ? { op: 'route.replace', ns, dst: r.destination, dev } : { op: 'route.replace', ns, dst: r.destination, via: r.nextHop, dev });
  }
  return steps;
}

/**
 * Gives a plugin's interface back (libnetwork moves it out of the sandbox under its own name
 * for the plugin to delete at DeleteEndpoint). hostNs: the daemon's namespace path.
 */
export function leaveSteps(dev: string, srcName: string, netnsPath: string, hostNs: string): Step[] {
  return [
    { op: 'link.set', ns: netnsPath, name: dev, up: false, tolerate: 'any' },
    { op: 'link.set', ns: netnsPath, name: dev, rename: srcName, netns: hostNs, tolerate: 'gone' },
  ];
}

const PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;

/** Docker's types.PortBinding list (com.docker.network.portmap). */
export function portmapOption(ports: PortMapping[] | undefined): Record<string, unknown>[] {
  return (ports ?? []).map((p) => ({ Proto: PROTO[p.proto], IP: '', Port: p.containerPort, HostIP: p.hostIp === '0.0.0.0' || p.hostIp === '::' ? '' : p.hostIp, HostPort: p.hostPort, HostPortEnd: p.hostPort }));
}

/** Docker's types.TransportPort list (com.docker.network.endpoint.exposedports). */
export function exposedPortsOption(ports: PortMapping[] | undefined): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const p of ports ?? []) {
    const key = `${p.proto}/${p.containerPort}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ Proto: PROTO[p.proto], Port: p.containerPort });
  }
  return out;
}

/** libnetwork's IPAMData list of a network's pools for one family (CreateNetwork). */
export function ipamData(net: NetworkRecord, v6: boolean, addressSpace: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const pool of net.ipam.config) {
    if (!pool.Subnet || pool.Subnet.includes(':') !== v6) continue;
    if (v6 && !net.enableIPv6) continue;
    const prefix = pool.Subnet.split('/')[1];
    const data: Record<string, unknown> = { AddressSpace: addressSpace, Pool: pool.Subnet };
    if (pool.Gateway) data.Gateway = `${pool.Gateway}/${prefix}`;
    const aux = Object.entries(pool.AuxiliaryAddresses ?? {});
    if (aux.length) data.AuxAddresses = Object.fromEntries(aux.map(([k, v]) => [k, `${v}/${prefix}`]));
    out.push(data);
  }
  return out;
}
