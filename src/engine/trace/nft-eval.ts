// A packet walked through the nftables rules as the kernel holds them (`nft -j list ruleset`
// read back), for `weft network trace`: every base chain on the forward hook, in priority order,
// rule by rule. It understands the expressions weft's table uses and the usual ones an admin
// writes into weft-user (interfaces, addresses and prefixes, protocols, ports, conntrack state,
// status and original destination, sets, maps' keys, jumps); a rule with anything else is
// reported as not understood and taken as not matching, so the verdict says how sure it is.

export type NftObject = Record<string, any>;

export interface Packet {
  iifname: string;
  oifname: string;
  saddr: string;
  daddr: string;
  /** 'icmp' for ping, else 'tcp' | 'udp' | 'sctp'. */
  l4proto: string;
  dport?: number;
  /** Conntrack: a first packet is 'new'; 'dnat' status once a published port rewrote it. */
  ctState: string[];
  ctStatus: string[];
  /** Before DNAT (the published host address and port); same as daddr/dport otherwise. */
  origDaddr?: string;
  origDport?: number;
}

export interface RuleRef {
  family: string;
  table: string;
  chain: string;
  handle: number;
  text: string;
}

export interface ChainVerdict {
  verdict: 'accept' | 'drop';
  /** The rule that decided, or null for the chain's policy. */
  rule: RuleRef | null;
  /** Base chain the verdict came from. */
  base: string;
  /** Rules taken as not matching because they hold expressions this walk does not understand. */
  unsure: RuleRef[];
  /** Every base chain walked, with what it said. */
  walked: { base: string; verdict: string; rule: RuleRef | null }[];
}

const IGNORED = new Set(['counter', 'log', 'comment', 'notrack', 'mangle', 'quota']);
const UNKNOWN = Symbol('unknown');
/** Conntrack state and status are flag sets: a match holds when any flag is common. */
class Flags {
  constructor(readonly flags: string[]) {}
}
type Val = string | number | Flags | Val[] | typeof UNKNOWN | null;

/** The base chains hooked on `hook` for IPv4 traffic (inet and ip families), lowest priority first. */
export function baseChains(rs: NftObject[], hook: string): NftObject[] {
  return rs
    .filter((o) => o.chain && o.chain.hook === hook && (o.chain.family === 'inet' || o.chain.family === 'ip') && (o.chain.type ?? 'filter') === 'filter')
    .map((o) => o.chain)
    .sort((a, b) => Number(a.prio ?? 0) - Number(b.prio ?? 0));
}

/** Walks every forward base chain: a drop anywhere is final; accepts go on to the next chain. */
export function evaluateHook(rs: NftObject[], hook: string, p: Packet): ChainVerdict {
  const unsure: RuleRef[] = [];
  const walked: ChainVerdict['walked'] = [];
  let last: ChainVerdict = { verdict: 'accept', rule: null, base: '(no base chain)', unsure, walked };
  for (const ch of baseChains(rs, hook)) {
    const base = `${ch.family} ${ch.table} ${ch.name}`;
    const r = walkChain(rs, ch.family, ch.table, ch.name, p, unsure, 0);
    const verdict = r ? r.verdict : ch.policy === 'drop' ? 'drop' : 'accept';
    const rule = r ? r.rule : null;
    walked.push({ base, verdict: r ? verdict : `policy ${verdict}`, rule });
    last = { verdict, rule, base, unsure, walked };
    if (verdict === 'drop') return last;
  }
  return last;
}

function walkChain(rs: NftObject[], family: string, table: string, chain: string, p: Packet, unsure: RuleRef[], depth: number): { verdict: 'accept' | 'drop'; rule: RuleRef } | null {
  if (depth > 16) return null;
  const rules = rs.filter((o) => o.rule && o.rule.family === family && o.rule.table === table && o.rule.chain === chain).map((o) => o.rule);
  for (const rule of rules) {
    const ref: RuleRef = { family, table, chain, handle: rule.handle, text: ruleText(rule.expr ?? []) };
    let understood = true;
    for (const e of rule.expr ?? []) {
      const [kind] = Object.keys(e);
      if (kind === 'match') {
        const m = matches(rs, family, table, e.match, p);
        if (m === UNKNOWN) understood = false;
        if (m !== true) break;
        continue;
      }
      if (IGNORED.has(kind)) continue;
      if (kind === 'accept' || kind === 'drop') return { verdict: kind, rule: ref };
      if (kind === 'reject') return { verdict: 'drop', rule: ref };
      if (kind === 'return') return null;
      if (kind === 'jump' || kind === 'goto') {
        const sub = walkChain(rs, family, table, e[kind].target, p, unsure, depth + 1);
        if (sub) return sub;
        if (kind === 'goto') return null;
        break; // back from the jump: on with the next rule
      }
      understood = false; // a statement we do not model (limit, meta set, xt...)
      break;
    }
    if (!understood) unsure.push(ref);
  }
  return null;
}

function matches(rs: NftObject[], family: string, table: string, m: { op: string; left: any; right: any }, p: Packet): boolean | typeof UNKNOWN {
  const left = valueOf(m.left, p);
  if (left === UNKNOWN) return UNKNOWN;
  if (left === null) return false; // the field is absent (a port of an ICMP packet)
  let right: any = m.right;
  if (typeof right === 'string' && right.startsWith('@')) {
    const set = rs.find((o) => (o.set ?? o.map) && (o.set ?? o.map).family === family && (o.set ?? o.map).table === table && (o.set ?? o.map).name === right.slice(1));
    if (!set) return UNKNOWN;
    right = { set: ((set.set ?? set.map).elem ?? []).map((x: any) => (Array.isArray(x) ? x[0] : x)) };
  }
  const hit = compare(left, right, m.op);
  if (hit === UNKNOWN) return UNKNOWN;
  return m.op === '!=' ? !hit : hit;
}

function valueOf(x: any, p: Packet): Val {
  if (x.concat) {
    const parts = x.concat.map((e: any) => valueOf(e, p));
    return parts.includes(UNKNOWN) ? UNKNOWN : parts.includes(null) ? null : parts;
  }
  if (x.meta) {
    switch (x.meta.key) {
      case 'iifname':
        return p.iifname;
      case 'oifname':
        return p.oifname;
      case 'l4proto':
        return p.l4proto;
      case 'nfproto':
        return 'ipv4';
      default:
        return UNKNOWN;
    }
  }
  if (x.payload) {
    const { protocol, field } = x.payload;
    if (protocol === 'ip' && field === 'saddr') return p.saddr;
    if (protocol === 'ip' && field === 'daddr') return p.daddr;
    if (protocol === 'ip' && field === 'protocol') return p.l4proto;
    if (protocol === 'ip6') return null; // an IPv4 packet has no IPv6 header
    if (['th', 'tcp', 'udp', 'sctp'].includes(protocol) && (field === 'dport' || field === 'sport')) {
      if (protocol !== 'th' && protocol !== p.l4proto) return null;
      if (p.dport === undefined) return null;
      return field === 'dport' ? p.dport : UNKNOWN; // the source port is the client's choice
    }
    return UNKNOWN;
  }
  if (x.ct) {
    const { key, dir } = x.ct;
    if (key === 'state') return new Flags(p.ctState);
    if (key === 'status') return new Flags(p.ctStatus);
    if (key === 'proto-dst' && (dir === 'original' || !dir)) return p.origDport ?? p.dport ?? null;
    if ((key === 'daddr' || key === 'ip daddr') && dir === 'original') return p.origDaddr ?? p.daddr;
    if ((key === 'saddr' || key === 'ip saddr') && dir === 'original') return p.saddr;
    return UNKNOWN;
  }
  return UNKNOWN;
}

/** Whether the packet's value is what the right side names (literal, prefix, range, set, flags). */
function compare(left: Val, right: any, op: string): boolean | typeof UNKNOWN {
  if (['<', '>', '<=', '>='].includes(op)) {
    if (typeof left !== 'number' || typeof right !== 'number') return UNKNOWN;
    return op === '<' ? left < right : op === '>' ? left > right : op === '<=' ? left <= right : left >= right;
  }
  // Flags (ct state, ct status): any common flag.
  if (left instanceof Flags) {
    const want: unknown[] = Array.isArray(right) ? right : right?.set ? right.set : [right];
    return want.some((w) => typeof w === 'string' && left.flags.includes(w));
  }
  if (right && typeof right === 'object' && !Array.isArray(right) && right.set) {
    for (const e of right.set) {
      const r = one(left, unwrap(e));
      if (r === UNKNOWN) return UNKNOWN;
      if (r) return true;
    }
    return false;
  }
  if (Array.isArray(right)) return right.some((r) => one(left, r) === true);
  return one(left, right);
}

function unwrap(e: any): any {
  return e && typeof e === 'object' && e.elem ? e.elem.val : e;
}

function one(left: Val, right: any): boolean | typeof UNKNOWN {
  if (right && typeof right === 'object' && right.concat) {
    if (!Array.isArray(left) || left.length !== right.concat.length) return UNKNOWN;
    for (let i = 0; i < left.length; i++) {
      const r = one(left[i] as Val, right.concat[i]);
      if (r !== true) return r;
    }
    return true;
  }
  if (right && typeof right === 'object' && right.prefix) {
    if (typeof left !== 'string') return UNKNOWN;
    return inPrefix(left, right.prefix.addr, right.prefix.len);
  }
  if (right && typeof right === 'object' && right.range) {
    const [lo, hi] = right.range;
    if (typeof left === 'number') return left >= Number(lo) && left <= Number(hi);
    if (typeof left === 'string' && left.includes('.')) return ip4(left) >= ip4(lo) && ip4(left) <= ip4(hi);
    return UNKNOWN;
  }
  if (typeof right === 'string' || typeof right === 'number') {
    if (typeof left === 'string' && typeof right === 'string' && right.endsWith('*')) return left.startsWith(right.slice(0, -1)); // iifname "br-*"
    return String(left) === String(right);
  }
  return UNKNOWN;
}

function ip4(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function inPrefix(a: string, base: string, len: number): boolean {
  if (!a.includes('.') || !base.includes('.')) return false;
  const mask = len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len);
  return (ip4(a) & mask) >>> 0 === (ip4(base) & mask) >>> 0;
}

// ---- readable rule text (close to what `nft list` prints) -----------------------------------

export function ruleText(expr: NftObject[]): string {
  return expr.map(stmtText).join(' ');
}

function stmtText(e: NftObject): string {
  const [kind] = Object.keys(e);
  const v = e[kind];
  if (kind === 'match') return `${exprText(v.left)} ${v.op === '==' || v.op === 'in' ? '' : v.op + ' '}${exprText(v.right)}`;
  if (kind === 'jump' || kind === 'goto') return `${kind} ${v.target}`;
  if (v === null || kind === 'counter') return kind;
  return `${kind} ${JSON.stringify(v)}`;
}

function exprText(x: any): string {
  if (x === null || x === undefined) return '';
  if (typeof x !== 'object') return typeof x === 'string' && !x.startsWith('@') && /[^A-Za-z0-9_.:\/-]/.test(x) ? JSON.stringify(x) : String(x);
  if (Array.isArray(x)) return x.map(exprText).join(',');
  if (x.concat) return x.concat.map(exprText).join(' . ');
  if (x.meta) return `meta ${x.meta.key}`.replace(/^meta (iifname|oifname)$/, '$1');
  if (x.payload) return `${x.payload.protocol} ${x.payload.field}`;
  if (x.ct) return `ct ${x.ct.dir ? x.ct.dir + ' ' : ''}${x.ct.key}`;
  if (x.prefix) return `${x.prefix.addr}/${x.prefix.len}`;
  if (x.range) return `${exprText(x.range[0])}-${exprText(x.range[1])}`;
  if (x.set) return `{ ${x.set.map(exprText).join(', ')} }`;
  if (x.fib) return `fib ${x.fib.flags.join(' . ')} ${x.fib.result}`;
  return JSON.stringify(x);
}

/** The elements of a live set or map (keys only for maps), unwrapped. */
export function liveElements(rs: NftObject[], family: string, table: string, name: string): any[] | null {
  const o = rs.find((x) => (x.set ?? x.map) && (x.set ?? x.map).family === family && (x.set ?? x.map).table === table && (x.set ?? x.map).name === name);
  if (!o) return null;
  return ((o.set ?? o.map).elem ?? []).map((e: any) => unwrap(e));
}

/** Elements of a live map as [key, value] pairs. */
export function liveMap(rs: NftObject[], family: string, table: string, name: string): [any, any][] | null {
  const o = rs.find((x) => x.map && x.map.family === family && x.map.table === table && x.map.name === name);
  if (!o) return null;
  return (o.map.elem ?? []).map((e: any) => (Array.isArray(e) ? [unwrap(e[0]), e[1]] : [unwrap(e), null]));
}
