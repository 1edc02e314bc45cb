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

const POSTROUTING_RULES = ['ip saddr @masq4 oifname != @bridges masquerade', 'ip6 saddr @masq6 oifname != @bridges masquerade'];

/** The whole table (sets emptied, chains rebuilt), for startup; apply atomically. */
export function baseTableScript(): string {
  const lines = [`add table ${TABLE}`, `add chain ${TABLE} weft-user`];
  for (const [name, spec] of SETS) lines.push(`add set ${TABLE} ${name} { ${spec} }`, `flush set ${TABLE} ${name}`);
  lines.push(`add chain ${TABLE} forward { type filter hook forward priority filter; policy accept; }`);
  lines.push(`flush chain ${TABLE} forward`);
  for (const r of FORWARD_RULES) lines.push(`add rule ${TABLE} forward ${r}`);
  lines.push(`add chain ${TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`);
  lines.push(`flush chain ${TABLE} postrouting`);
  for (const r of POSTROUTING_RULES) lines.push(`add rule ${TABLE} postrouting ${r}`);
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

/** Startup script: base table plus the elements of every network, one transaction. */
export function fullTableScript(nets: NftNetwork[]): string {
  return baseTableScript() + nets.flatMap((n) => networkElements(n, 'add')).join('\n') + (nets.length ? '\n' : '');
}

function ifnameLiteral(name: string): string {
  if (!/^[A-Za-z0-9_.@:+-]{1,15}$/.test(name)) throw new Error(`invalid interface name for nft: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function cidrLiteral(cidr: string): string {
  if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cidr)) throw new Error(`invalid subnet for nft: ${JSON.stringify(cidr)}`);
  return cidr; // nft itself clears host bits of an interval element (10.1.2.3/24 -> 10.1.2.0/24)
}
