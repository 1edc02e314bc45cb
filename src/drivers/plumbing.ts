import type { EndpointRecord } from '../common/model.js';
import type { MacvlanMode, Step } from '../kernel/types.js';

// The container side of an endpoint, shared by every driver whose sandbox is an 'interface'
// (bridge, macvlan, overlay, remote plugins): how the interface gets into the sandbox
// under its final name and MAC, then its addresses, link state and default routes there, and how
// it is taken out again. Pure builders of plan steps; the driver puts them in its own plan (one
// kernel round trip per operation) around its host-side steps.

/** How an endpoint's interface reaches the sandbox. */
export type Arrival =
  /** A veth pair: the host end in the daemon's namespace (or hostNs: an overlay's network namespace), the peer created inside the sandbox. */
  | { via: 'veth'; hostName: string; mtu?: number; hostNs?: string }
  /** A child of a parent link in the daemon's namespace (macvlan), created straight inside the sandbox. */
  | { via: 'child'; kind: 'macvlan'; parent: string; mode?: MacvlanMode; mtu?: number }
  /** A link that already exists in the daemon's namespace (e.g. a remote plugin's), moved in, then renamed and given its MAC there. */
  | { via: 'move'; name: string; mtu?: number };

/** Steps that put the endpoint's interface into the sandbox at netnsPath, named ep.ifname, with ep.mac. */
export function arrivalSteps(ep: EndpointRecord, netnsPath: string, a: Arrival): Step[] {
  const mac = ep.mac || undefined;
  switch (a.via) {
    case 'veth':
      // Made in place: no rename and no move, and the MAC is set before the peer is visible.
      return [{ op: 'link.add', name: a.hostName, kind: 'veth', mtu: a.mtu, ...(a.hostNs ? { netns: a.hostNs } : {}), peer: { name: ep.ifname, mtu: a.mtu, mac, netns: netnsPath } }];
    case 'child':
      return [{ op: 'link.add', name: ep.ifname, kind: a.kind, parent: a.parent, netns: netnsPath, mac, mode: a.mode, ...(a.mtu ? { mtu: a.mtu } : {}) }];
    case 'move':
      return [
        { op: 'link.set', name: a.name, netns: netnsPath },
        // Down while renamed: a link cannot be renamed while up.
        { op: 'link.set', ns: netnsPath, name: a.name, up: false, rename: a.name === ep.ifname ? undefined : ep.ifname, mac, mtu: a.mtu },
      ];
  }
}

/** Inside the sandbox: the endpoint's addresses, its interface up, and the default routes if it gives them. */
export function sandboxSteps(ep: EndpointRecord, defaultRoute: boolean, netnsPath: string): Step[] {
  const dev = ep.ifname;
  const ns = netnsPath;
  const steps: Step[] = [];
  if (ep.ipv4) steps.push({ op: 'addr.replace', ns, dev, cidr: ep.ipv4, broadcast: true });
  if (ep.ipv6) steps.push({ op: 'addr.replace', ns, dev, cidr: ep.ipv6, nodad: true });
  steps.push({ op: 'link.set', ns, name: dev, up: true });
  if (defaultRoute) steps.push(...defaultRouteSteps(ep, ns));
  return steps;
}

/** The sandbox's default routes through this endpoint's gateways (at a join, or when it takes over the route). */
export function defaultRouteSteps(ep: EndpointRecord, ns: string): Step[] {
  const steps: Step[] = [];
  if (ep.gateway4 && ep.ipv4) steps.push({ op: 'route.replace', ns, dst: 'default', via: ep.gateway4, dev: ep.ifname });
  if (ep.gateway6 && ep.ipv6) steps.push({ op: 'route.replace', ns, dst: 'default', via: ep.gateway6, dev: ep.ifname });
  return steps;
}

/** Everything of a join on the container side: the arrival, then the sandbox's configuration. */
export function plumbSteps(ep: EndpointRecord, netnsPath: string, a: Arrival, opts: { defaultRoute: boolean }): Step[] {
  return [...arrivalSteps(ep, netnsPath, a), ...sandboxSteps(ep, opts.defaultRoute, netnsPath)];
}

/**
 * Takes the interface out of service at once without deleting it (for links whose deletion is
 * slow and done later): down, and renamed out of the way of its name (eth1 may be reused by the
 * next connect). Best effort: it goes with its link anyway.
 */
export function parkSteps(ep: EndpointRecord, netnsPath: string, parkedName: string): Step[] {
  return [
    { op: 'link.set', ns: netnsPath, name: ep.ifname, up: false, tolerate: 'any' },
    { op: 'link.set', ns: netnsPath, name: ep.ifname, rename: parkedName, tolerate: 'any' },
  ];
}

/** Deletes the interface inside the sandbox (a child link lives only there); already gone is fine. */
export function removeSteps(ep: EndpointRecord, netnsPath: string): Step[] {
  return [{ op: 'link.del', ns: netnsPath, name: ep.ifname, tolerate: 'gone' }];
}
