import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { assertBatchSafe } from '../../kernel/batch.js';
import { macFromIPv4 } from '../../common/mac.js';
import { OWNER_ALIAS_PREFIX, type MacvlanConfig, type VlanPlan } from './options.js';

// Pure builders of `ip -batch` lines for the macvlan driver (unit-tested as text).

/** ifalias marking a link weft created for network netId. */
export const ownerAlias = (netId: string) => `${OWNER_ALIAS_PREFIX}${netId.slice(0, 12)}`;

/** Creates the 802.1q sub-interface for -o parent=<link>.<id> (line 1 is the only one that creates). */
export function vlanLines(plan: VlanPlan, netId: string): string[] {
  const name = assertBatchSafe(plan.name, 'interface name');
  return [
    `link add link ${assertBatchSafe(plan.link, 'interface name')} name ${name} type vlan id ${plan.id}`,
    `link set ${name} alias ${ownerAlias(netId)}`,
    `link set ${name} up`,
  ];
}

/** Docker's parent for a network without -o parent: a dummy link (needs the kernel's dummy module). */
export function dummyLines(name: string): string[] {
  assertBatchSafe(name, 'interface name');
  return [`link add ${name} type dummy`, `link set ${name} up`];
}

/** Where the shim routes: each IPv4 pool's --ip-range if given (the containers' addresses), else its subnet. */
export function shimRouteDestinations(net: NetworkRecord): string[] {
  return net.ipam.config.filter((p) => p.Subnet && !p.Subnet.includes(':')).map((p) => p.IPRange || p.Subnet);
}

/**
 * The host shim, run in the daemon's namespace: a bridge-mode macvlan on the same parent as the
 * containers (macvlan children of one parent switch to each other inside the kernel; the parent
 * itself never sees them), with the given address and routes to the containers through it.
 * `create` false re-asserts an existing shim (restore).
 */
export function shimLines(net: NetworkRecord, cfg: MacvlanConfig, create = true): string[] {
  const dev = assertBatchSafe(cfg.shimName, 'interface name');
  const ip = cfg.hostShim.split('/')[0] ?? '';
  const lines: string[] = [];
  if (create) {
    lines.push(`link add link ${assertBatchSafe(cfg.parent, 'interface name')} name ${dev} address ${macFromIPv4(ip)} type macvlan mode bridge`);
  }
  lines.push(`addr replace ${assertBatchSafe(cfg.hostShim, 'address')} dev ${dev} noprefixroute`, `link set ${dev} up`);
  for (const dst of shimRouteDestinations(net)) lines.push(`route add ${assertBatchSafe(dst, 'route')} dev ${dev} src ${ip}`);
  return lines;
}

/**
 * Join, run in the daemon's namespace (where the parent is): the macvlan sub-interface is created
 * directly inside the sandbox under its final name and MAC, so no rename and no move is needed.
 * The rest (address, up, default route) is the bridge driver's joinSandboxLines, run inside.
 */
export function joinHostLines(cfg: MacvlanConfig, ep: EndpointRecord, netnsPath: string): string[] {
  const parts = [
    `link add link ${assertBatchSafe(cfg.parent, 'interface name')}`,
    `name ${assertBatchSafe(ep.ifname, 'interface name')}`,
    `netns ${assertBatchSafe(netnsPath, 'namespace path')}`,
  ];
  if (ep.mac) parts.push(`address ${assertBatchSafe(ep.mac, 'MAC')}`);
  parts.push(`type macvlan mode ${cfg.mode}`);
  return [parts.join(' ')];
}
