// Who reaches whom: a pure model of Docker's bridge isolation as weft implements it (README,
// "nftables"), with no kernel and no records. Given the networks and who is on them, it says
// whether a peer reaches an address and by which rule, and what a container's name lookups
// may answer. The isolation tests check the kernel against it packet by packet; `weft network
// trace` will show it beside the live rules.
//
// The rules (checked against dockerd 20.10 by test/e2e/isolation.test.ts):
//   - a container reaches its own addresses, whatever the network (they are local to it);
//   - on a network both are on, a container reaches another's address iff the network has ICC,
//     internal or not (the packet is bridged: same-network traffic, `icc` set);
//   - any other container address is never reached: a container's only path to a network it is
//     not on is its default route through the host, and the host does not forward from one
//     bridge to another (isolation), nor into or out of an internal network;
//   - a container has a default route iff it is on a non-internal network (Docker moves the
//     gateway to another endpoint when that one goes); through it it reaches the host's
//     addresses (the gateways of every realized network: the host accepts them, there is no
//     input filtering) and the outside (forwarded and masqueraded);
//   - on its own networks it reaches their gateways, internal or not;
//   - the host reaches every container (the bridges are its own interfaces);
//   - the outside reaches the host's addresses, never a container unless a port is published
//     (published ports are not modelled here);
//   - names: a container resolves another's name or alias iff both are on a user-defined
//     network (not the default bridge); the answer is its address on such a network.
// Only the bridge driver is modelled ('null' networks give no address and no route); a member
// of a network of another driver (macvlan, ...) makes verdicts through it 'unmodelled'. IPv4
// and IPv6 follow the same rules, family by family.

export interface ModelNetwork {
  name: string;
  driver: string;
  internal: boolean;
  /** Inter-container communication (com.docker.network.bridge.enable_icc; --icc for the default bridge). */
  icc: boolean;
  /** Names resolve on it: user-defined networks, not the predefined default bridge. */
  dns: boolean;
  /** Host addresses on its bridge (plain), present only once the bridge exists (weft makes it at the first join). */
  gateways: string[];
  subnets: string[];
}

export interface ModelMember {
  container: string;
  network: string;
  /** Plain addresses (no prefix length). */
  addresses: string[];
  /** Names it answers to on this network: container name, aliases. */
  names: string[];
}

export interface Topology {
  networks: ModelNetwork[];
  members: ModelMember[];
  /** The host's addresses other than gateways (its uplinks), if known: reached like the gateways. */
  host?: string[];
}

/** A container by name, the host (the daemon's namespace) or the outside (a machine beyond the host). */
export type Peer = { container: string } | 'host' | 'outside';

export type Rule =
  | 'self' // its own address
  | 'same-network' // both on the network, ICC on
  | 'icc-off' // both on the network, ICC off
  | 'isolation' // the address is on a network the source is not on
  | 'internal' // the address is on an internal network the source is not on
  | 'no-route' // the source has no default route (internal networks only, or none)
  | 'gateway' // the host's address on one of the source's networks
  | 'host' // a host address reached through the default route, or by the outside
  | 'outbound' // beyond the host, through the default route
  | 'from-host' // the host reaches its containers
  | 'unsolicited' // the outside reaching a container
  | 'unassigned' // an address of a subnet nobody holds
  | 'unmodelled'; // a network of a driver this model does not cover

export interface Verdict {
  reachable: boolean;
  rule: Rule;
  /** The network the packet is bridged on or blocked at, when one decides it. */
  network?: string;
  why: string;
}

export interface NameAnswer {
  address: string;
  network: string;
}

/** What holds an address: a container on a network, the host (a gateway), or nobody known. */
export type Owner =
  | { kind: 'container'; container: string; network: string }
  | { kind: 'gateway'; network: string }
  | { kind: 'host' } // one of Topology.host
  | { kind: 'subnet'; network: string } // inside a subnet, held by nobody
  | { kind: 'outside' };

export function ownerOf(topo: Topology, address: string): Owner {
  const a = normalize(address);
  for (const m of topo.members) if (m.addresses.some((x) => normalize(x) === a)) return { kind: 'container', container: m.container, network: m.network };
  for (const n of topo.networks) if (n.gateways.some((g) => normalize(g) === a)) return { kind: 'gateway', network: n.name };
  if (topo.host?.some((h) => normalize(h) === a)) return { kind: 'host' };
  for (const n of topo.networks) if (n.subnets.some((s) => inSubnet(a, s))) return { kind: 'subnet', network: n.name };
  return { kind: 'outside' };
}

export interface ReachOptions {
  /**
   * dockerd 20.10's behaviour, not weft's: a container on internal networks only still gets a
   * default route (through its internal gateway) and the host filters only forwarded traffic,
   * so it reaches every host address. weft gives it no default route: it reaches only the
   * gateways of its own networks, and nothing of the host beyond them.
   */
  internalReachesHost?: boolean;
}

/** Whether `from` reaches `address`, and the rule that decides it. */
export function reach(topo: Topology, from: Peer, address: string, opts: ReachOptions = {}): Verdict {
  const owner = ownerOf(topo, address);
  const net = (name: string) => topo.networks.find((n) => n.name === name);
  if (from === 'host') return fromHost(owner, address);
  if (from === 'outside') return fromOutside(owner, address);
  const src = from.container;
  const mine = topo.members.filter((m) => m.container === src);
  const onNet = (name: string) => mine.some((m) => m.network === name);
  if (isLoopback(address) || (owner.kind === 'container' && owner.container === src)) return yes('self', `${address} is ${src}'s own address`);
  const unmodelled = [...mine.map((m) => net(m.network)), 'network' in owner ? net(owner.network) : undefined].find((n) => n && !MODELLED.has(n.driver));
  if (unmodelled) return verdict(false, 'unmodelled', `${unmodelled.name} is a ${unmodelled.driver} network, which this model does not cover`, unmodelled.name);

  if ((owner.kind === 'container' || owner.kind === 'gateway' || owner.kind === 'subnet') && onNet(owner.network)) {
    const n = net(owner.network)!;
    if (owner.kind === 'gateway') return yes('gateway', `${address} is the gateway of ${n.name}, a network ${src} is on`, n.name);
    if (owner.kind === 'subnet') return verdict(false, 'unassigned', `nobody holds ${address} on ${n.name}`, n.name);
    if (n.icc) return yes('same-network', `${src} and ${owner.container} are both on ${n.name}, which has ICC`, n.name);
    return verdict(false, 'icc-off', `${src} and ${owner.container} are both on ${n.name}, which has ICC off`, n.name);
  }
  const way = mine.map((m) => net(m.network)).find((n) => n && n.driver === 'bridge' && !n.internal);
  if (!way) {
    const internalWay = opts.internalReachesHost && mine.some((m) => net(m.network)?.internal && net(m.network)?.gateways.length);
    if (internalWay && (owner.kind === 'gateway' || owner.kind === 'host')) return yes('host', `${address} is a host address, reached through ${src}'s default route on an internal network (dockerd 20.10)`);
    const why = mine.length ? `${src} is only on internal networks (${mine.map((m) => m.network).join(', ')}): no default route` : `${src} is on no network`;
    return verdict(false, 'no-route', why);
  }
  switch (owner.kind) {
    case 'gateway':
      return yes('host', `${address} is a host address (gateway of ${owner.network}), reached through ${src}'s default route`, way.name);
    case 'host':
      return yes('host', `${address} is a host address, reached through ${src}'s default route`, way.name);
    case 'outside':
      return yes('outbound', `${address} is beyond the host, reached through ${src}'s default route`, way.name);
    case 'subnet':
      return verdict(false, 'unassigned', `nobody holds ${address} on ${owner.network}`, owner.network);
    case 'container': {
      const n = net(owner.network)!;
      if (n.internal) return verdict(false, 'internal', `${address} is ${owner.container}'s on ${n.name}, an internal network ${src} is not on`, n.name);
      return verdict(false, 'isolation', `${address} is ${owner.container}'s on ${n.name}, a network ${src} is not on`, n.name);
    }
  }
}

/** The answers a container's name lookup may get: the target's addresses on every user-defined network both are on. Empty: not resolved. */
export function resolveName(topo: Topology, from: string, name: string, family: 4 | 6 = 4): NameAnswer[] {
  const wanted = name.toLowerCase();
  const mine = new Set(topo.members.filter((m) => m.container === from).map((m) => m.network));
  const dnsNets = new Set(topo.networks.filter((n) => n.dns && MODELLED.has(n.driver)).map((n) => n.name));
  const out: NameAnswer[] = [];
  for (const m of topo.members) {
    if (!mine.has(m.network) || !dnsNets.has(m.network)) continue;
    if (!m.names.some((x) => x.toLowerCase() === wanted)) continue;
    for (const a of m.addresses) if (a.includes(':') === (family === 6)) out.push({ address: a, network: m.network });
  }
  return out;
}

/** Every address of the topology: the containers', the gateways' and the host's. */
export function addressesOf(topo: Topology): string[] {
  return [...topo.members.flatMap((m) => m.addresses), ...topo.networks.flatMap((n) => n.gateways), ...(topo.host ?? [])];
}

const MODELLED = new Set(['bridge', 'null']);

function fromHost(owner: Owner, address: string): Verdict {
  if (owner.kind === 'container') return yes('from-host', `the host reaches ${owner.container} on ${owner.network} (its bridge is the host's)`, owner.network);
  if (owner.kind === 'subnet') return verdict(false, 'unassigned', `nobody holds ${address} on ${owner.network}`, owner.network);
  return yes('host', `${address} is the host's own or beyond it`);
}

function fromOutside(owner: Owner, address: string): Verdict {
  if (owner.kind === 'container') return verdict(false, 'unsolicited', `nothing unsolicited reaches ${owner.container} from outside (no published port)`, owner.network);
  if (owner.kind === 'gateway') return yes('host', `${address} is a host address (gateway of ${owner.network})`, owner.network);
  if (owner.kind === 'host') return yes('host', `${address} is a host address`);
  if (owner.kind === 'subnet') return verdict(false, 'unassigned', `nobody holds ${address} on ${owner.network}`, owner.network);
  return yes('host', `${address} is not weft's`);
}

function yes(rule: Rule, why: string, network?: string): Verdict {
  return verdict(true, rule, why, network);
}

function verdict(reachable: boolean, rule: Rule, why: string, network?: string): Verdict {
  return network === undefined ? { reachable, rule, why } : { reachable, rule, network, why };
}

function isLoopback(a: string): boolean {
  return /^127\./.test(a) || normalize(a) === '::1';
}

// Address arithmetic kept here so that the model needs nothing but itself.

function normalize(a: string): string {
  return a.includes(':') ? v6Words(a).map((w) => w.toString(16)).join(':') : a;
}

function v6Words(a: string): number[] {
  const [head, tail] = a.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
}

function inSubnet(a: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (a.includes(':') !== base.includes(':')) return false;
  const words = (x: string) => (x.includes(':') ? v6Words(x).flatMap((w) => [w >> 8, w & 255]) : x.split('.').map(Number));
  const aa = words(a);
  const bb = words(base);
  for (let i = 0; i < aa.length; i++) {
    const left = bits - i * 8;
    if (left <= 0) return true;
    const mask = left >= 8 ? 255 : (0xff << (8 - left)) & 255;
    if ((aa[i] & mask) !== (bb[i] & mask)) return false;
  }
  return true;
}
