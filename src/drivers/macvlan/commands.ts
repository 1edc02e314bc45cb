import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import type { Step } from '../../kernel/types.js';
import { macFromIPv4 } from '../../common/mac.js';
import { arrivalSteps } from '../plumbing.js';
import { OWNER_ALIAS_PREFIX, type MacvlanConfig, type VlanPlan } from './options.js';

// Pure builders of the macvlan driver's kernel plans (unit-tested as data).

/** ifalias marking a link weft created for network netId. */
export const ownerAlias = (netId: string) => `${OWNER_ALIAS_PREFIX}${netId.slice(0, 12)}`;

/** Creates the 802.1q sub-interface for -o parent=<link>.<id> (step 0 is the only one that creates). */
export function vlanSteps(plan: VlanPlan, netId: string): Step[] {
  return [
    { op: 'link.add', name: plan.name, kind: 'vlan', parent: plan.link, vlanId: plan.id },
    { op: 'link.set', name: plan.name, alias: ownerAlias(netId) },
    { op: 'link.set', name: plan.name, up: true },
  ];
}

/** Docker's parent for a network without -o parent: a dummy link (needs the kernel's dummy module). */
export function dummySteps(name: string): Step[] {
  return [
    { op: 'link.add', name, kind: 'dummy', tolerate: 'exists' },
    { op: 'link.set', name, up: true },
  ];
}

/** Where the shim routes: each IPv4 pool's --ip-range if given (the containers' addresses), else its subnet. */
export function shimRouteDestinations(net: NetworkRecord): string[] {
  return net.ipam.config.filter((p) => p.Subnet && !p.Subnet.includes(':')).map((p) => p.IPRange || p.Subnet);
}

/**
 * The host shim, in the daemon's namespace: a bridge-mode macvlan on the same parent as the
 * containers (macvlan children of one parent switch to each other inside the kernel; the parent
 * itself never sees them), with the given address and routes to the containers through it.
 * `create` false re-asserts an existing shim (restore): its routes may be there already.
 */
export function shimSteps(net: NetworkRecord, cfg: MacvlanConfig, create = true): Step[] {
  const dev = cfg.shimName;
  const ip = cfg.hostShim.split('/')[0] ?? '';
  const steps: Step[] = [];
  if (create) steps.push({ op: 'link.add', name: dev, kind: 'macvlan', parent: cfg.parent, mac: macFromIPv4(ip), mode: 'bridge' });
  steps.push({ op: 'addr.replace', dev, cidr: cfg.hostShim, noprefixroute: true }, { op: 'link.set', name: dev, up: true });
  for (const dst of shimRouteDestinations(net)) steps.push({ op: 'route.add', dst, dev, src: ip, tolerate: create ? undefined : 'exists' });
  return steps;
}

/**
 * Join: the macvlan sub-interface is created from the daemon's namespace (where the parent is)
 * directly inside the sandbox under its final name and MAC, so no rename and no move is needed.
 * The rest (address, up, default route) is the shared plumbing's sandboxSteps.
 */
export function joinHostSteps(cfg: MacvlanConfig, ep: EndpointRecord, netnsPath: string): Step[] {
  return arrivalSteps(ep, netnsPath, { via: 'child', kind: 'macvlan', parent: cfg.parent, mode: cfg.mode });
}
