import { isIP } from 'node:net';

// Pure builders for weft's nftables table. No kernel access here: the text goes to
// Kernel.nftApply (one atomic `nft -f -` per operation) and is unit-tested as text.
//
// Layout: every per-network fact is an ELEMENT of a named set, never a rule, so the rule set is
// fixed and the 1,000th network costs one set insertion like the first (set lookups are hashed
// or interval trees, not a linear walk over per-network rules as with Docker's iptables chains).
//
//   set bridges   ifname            every weft bridge
//   set icc       ifname . ifname   "br . br" for each network with inter-container traffic on
//   set internal  ifname            bridges of --internal networks
//   set masq4/6   prefix intervals  subnets whose outbound traffic is masqueraded
//   chain weft-user                 empty, for the admin (Docker's DOCKER-USER); never flushed
//   chain forward (filter hook forward)
//     jump weft-user
//     iifname . oifname @icc accept                   same network, icc on (bridged traffic is
//                                                     seen here thanks to bridge-nf-call-iptables)
//     iifname @internal drop / oifname @internal drop  internal: nothing else leaves or enters
//     oifname @bridges ct state established,related accept     replies to containers
//     iifname @bridges oifname @bridges drop          isolation between networks (and icc off)
//     iifname @bridges accept                         containers -> outside
//     oifname @bridges ct status dnat accept          published ports (DNAT done elsewhere)
//     oifname @bridges drop                           nothing unsolicited reaches containers
//   chain postrouting (nat hook postrouting srcnat)
//     ip saddr @masq4 oifname != @bridges masquerade  (and ip6/masq6)
//     ip saddr 127.0.0.0/8 oifname @bridges masquerade     localhost -> published port (the
//                                                     container could not answer 127.0.0.1)
//     ip saddr . ip daddr . meta l4proto . th dport @hairpin4 masquerade   (and ip6/hairpin6)
//                                                     a container reaching itself through its
//                                                     own published port (Docker's per-port
//                                                     `-s C -d C --dport P MASQUERADE`, as elements)
//
// Published ports (no proxy process): four dnat maps, one element per mapping, looked up by a
// fixed set of rules, so the 1,000th mapping costs one map insertion like the first.
//   map pub4    inet_proto . inet_service : ipv4_addr . inet_service          (host IP 0.0.0.0)
//   map pub4ip  ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service  (one host IP)
//   map pub6 / pub6ip                                                         (same for IPv6)
//   set hairpin4/6  container . container . proto . container port
//   chain published (regular)
//     dnat ip to ip daddr . meta l4proto . th dport map @pub4ip   (specific address first)
//     dnat ip to meta l4proto . th dport map @pub4
//     dnat ip6 to ... @pub6ip / @pub6
//   chain prerouting (nat hook prerouting dstnat):  fib daddr type local jump published
//   chain output (nat hook output -100):           fib daddr type local jump published
//                                                  (localhost works: route_localnet=1)
//   chain guard (filter hook prerouting raw):      iifname != "lo" ip daddr 127.0.0.0/8 drop
//                                                  (route_localnet must not let another machine
//                                                  reach 127.0.0.1-bound ports, CVE-2020-8558)
// A DNAT'd packet then crosses forward: weft-user first (where an admin filters published
// ports, e.g. by `ct original proto-dst`), then `oifname @bridges ct status dnat accept`.
//
// The table is shared: weft owns exactly the sets and chains named here and re-creates them
// with add+flush (not `flush table`), so chains other modules add to `inet weft` (port
// publishing) and the admin's weft-user rules survive a daemon restart.

export const TABLE = 'inet weft';

/** What the table needs to know of one network. */
export interface NftNetwork {
  bridge: string;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  subnets4: string[];
  subnets6: string[];
}

const SETS: [string, string][] = [
  ['bridges', 'type ifname;'],
  ['icc', 'type ifname . ifname;'],
  ['internal', 'type ifname;'],
  ['masq4', 'type ipv4_addr; flags interval;'],
  ['masq6', 'type ipv6_addr; flags interval;'],
  ['hairpin4', 'type ipv4_addr . ipv4_addr . inet_proto . inet_service;'],
  ['hairpin6', 'type ipv6_addr . ipv6_addr . inet_proto . inet_service;'],
];

const MAPS: [string, string][] = [
  ['pub4', 'type inet_proto . inet_service : ipv4_addr . inet_service;'],
  ['pub4ip', 'type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;'],
  ['pub6', 'type inet_proto . inet_service : ipv6_addr . inet_service;'],
  ['pub6ip', 'type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;'],
];

const PUBLISHED_RULES = [
  'dnat ip to ip daddr . meta l4proto . th dport map @pub4ip',
  'dnat ip to meta l4proto . th dport map @pub4',
  'dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6ip',
  'dnat ip6 to meta l4proto . th dport map @pub6',
];

const FORWARD_RULES = [
  'jump weft-user',
  'iifname . oifname @icc accept',
  'iifname @internal drop',
  'oifname @internal drop',
  'oifname @bridges ct state established,related accept',
  'iifname @bridges oifname @bridges drop',
  'iifname @bridges accept',
  'oifname @bridges ct status dnat accept',
  'oifname @bridges drop',
];

const POSTROUTING_RULES = [
  'ip saddr @masq4 oifname != @bridges masquerade',
  'ip6 saddr @masq6 oifname != @bridges masquerade',
  'ip saddr 127.0.0.0/8 oifname @bridges masquerade',
  'ip saddr . ip daddr . meta l4proto . th dport @hairpin4 masquerade',
  'ip6 saddr . ip6 daddr . meta l4proto . th dport @hairpin6 masquerade',
];

/** Base chains other than forward/postrouting: [name, hook spec, rules]. */
const HOOK_CHAINS: [string, string, string[]][] = [
  ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;', ['fib daddr type local jump published']],
  ['output', 'type nat hook output priority -100; policy accept;', ['fib daddr type local jump published']],
  ['guard', 'type filter hook prerouting priority raw; policy accept;', ['iifname != "lo" ip daddr 127.0.0.0/8 drop']],
];

/** The whole table (sets emptied, chains rebuilt), for startup; apply atomically. */
export function baseTableScript(): string {
  const lines = [`add table ${TABLE}`, `add chain ${TABLE} weft-user`];
  for (const [name, spec] of SETS) lines.push(`add set ${TABLE} ${name} { ${spec} }`, `flush set ${TABLE} ${name}`);
  for (const [name, spec] of MAPS) lines.push(`add map ${TABLE} ${name} { ${spec} }`, `flush map ${TABLE} ${name}`);
  lines.push(`add chain ${TABLE} published`, `flush chain ${TABLE} published`);
  for (const r of PUBLISHED_RULES) lines.push(`add rule ${TABLE} published ${r}`);
  lines.push(`add chain ${TABLE} forward { type filter hook forward priority filter; policy accept; }`);
  lines.push(`flush chain ${TABLE} forward`);
  for (const r of FORWARD_RULES) lines.push(`add rule ${TABLE} forward ${r}`);
  lines.push(`add chain ${TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`);
  lines.push(`flush chain ${TABLE} postrouting`);
  for (const r of POSTROUTING_RULES) lines.push(`add rule ${TABLE} postrouting ${r}`);
  for (const [name, spec, rules] of HOOK_CHAINS) {
    lines.push(`add chain ${TABLE} ${name} { ${spec} }`, `flush chain ${TABLE} ${name}`);
    for (const r of rules) lines.push(`add rule ${TABLE} ${name} ${r}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Set elements of one network. 'delete' is idempotent: nft 1.0.6 has no `destroy`, and deleting
 * a missing element fails the whole batch, so each delete is preceded by an add of the same
 * element in the same transaction (add of an existing element is a no-op).
 */
export function networkElements(net: NftNetwork, op: 'add' | 'delete'): string[] {
  const br = ifnameLiteral(net.bridge);
  const elems: [string, string][] = [['bridges', br]];
  if (net.icc) elems.push(['icc', `${br} . ${br}`]);
  if (net.internal) elems.push(['internal', br]);
  if (net.masquerade && !net.internal) {
    for (const s of net.subnets4) elems.push(['masq4', cidrLiteral(s)]);
    for (const s of net.subnets6) elems.push(['masq6', cidrLiteral(s)]);
  }
  const lines: string[] = [];
  for (const [set, e] of elems) {
    lines.push(`add element ${TABLE} ${set} { ${e} }`);
    if (op === 'delete') lines.push(`delete element ${TABLE} ${set} { ${e} }`);
  }
  return lines;
}

/** One published port, resolved: host side and the container address it is DNAT'd to. */
export interface NftPort {
  proto: 'tcp' | 'udp' | 'sctp';
  /** '0.0.0.0' / '::' (every local address of that family) or one address. */
  hostIp: string;
  hostPort: number;
  containerIp: string; // plain address, same family as hostIp
  containerPort: number;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** Map and set elements of published ports ('delete' idempotent like networkElements). */
export function portElements(ports: NftPort[], op: 'add' | 'delete'): string[] {
  const lines: string[] = [];
  for (const p of ports) {
    if (!PROTOS.has(p.proto)) throw new Error(`invalid protocol for nft: ${JSON.stringify(p.proto)}`);
    const v6 = p.containerIp.includes(':');
    if (v6 !== p.hostIp.includes(':')) throw new Error(`host ${p.hostIp} and container ${p.containerIp} differ in family`);
    const hostPort = portLiteral(p.hostPort);
    const target = `${addrLiteral(p.containerIp)} . ${portLiteral(p.containerPort)}`;
    const any = p.hostIp === (v6 ? '::' : '0.0.0.0');
    const map = `pub${v6 ? 6 : 4}${any ? '' : 'ip'}`;
    const key = any ? `${p.proto} . ${hostPort}` : `${addrLiteral(p.hostIp)} . ${p.proto} . ${hostPort}`;
    const hairpin = `${addrLiteral(p.containerIp)} . ${addrLiteral(p.containerIp)} . ${p.proto} . ${portLiteral(p.containerPort)}`;
    lines.push(`add element ${TABLE} ${map} { ${key} : ${target} }`);
    if (op === 'delete') lines.push(`delete element ${TABLE} ${map} { ${key} }`);
    // Several host ports may lead to one container port: the hairpin element is shared, so
    // leave() removes it only once, after all mappings of the endpoint (deduplicated below).
    if (!lines.includes(`add element ${TABLE} hairpin${v6 ? 6 : 4} { ${hairpin} }`)) {
      lines.push(`add element ${TABLE} hairpin${v6 ? 6 : 4} { ${hairpin} }`);
      if (op === 'delete') lines.push(`delete element ${TABLE} hairpin${v6 ? 6 : 4} { ${hairpin} }`);
    }
  }
  return lines;
}

/** Startup script: base table plus the elements of every network and published port, one transaction. */
export function fullTableScript(nets: NftNetwork[], ports: NftPort[] = []): string {
  const elems = [...nets.flatMap((n) => networkElements(n, 'add')), ...portElements(ports, 'add')];
  return baseTableScript() + elems.join('\n') + (elems.length ? '\n' : '');
}

function portLiteral(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port for nft: ${port}`);
  return String(port);
}

function addrLiteral(ip: string): string {
  if (!isIP(ip)) throw new Error(`invalid address for nft: ${JSON.stringify(ip)}`);
  return ip;
}

function ifnameLiteral(name: string): string {
  if (!/^[A-Za-z0-9_.@:+-]{1,15}$/.test(name)) throw new Error(`invalid interface name for nft: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function cidrLiteral(cidr: string): string {
  if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cidr)) throw new Error(`invalid subnet for nft: ${JSON.stringify(cidr)}`);
  return cidr; // nft itself clears host bits of an interval element (10.1.2.3/24 -> 10.1.2.0/24)
}
