import { constants } from 'node:os';
import { tolerances, type Step } from './types.js';

// The kernel agent's wire format (src/kernel/agent/run.c has the layout): plans encoded as
// binary steps of typed attributes, results decoded per step. Pure; the numbers below are the
// C enums of src/kernel/agent/agent.h, in order (a unit test compares them).

/** Read-only steps: answered with JSON (or true/false) in the result's data. */
export type Query =
  | { op: 'link.list'; ns?: string }
  | { op: 'link.get'; name: string; ns?: string }
  | { op: 'route.list'; family: 4 | 6; ns?: string }
  | { op: 'netns.exists'; path: string }
  | { op: 'nft.list'; script: string };

export type WireStep = Step | Query;

const QUERY_OPS = new Set(['link.list', 'link.get', 'route.list', 'netns.exists', 'nft.list']);
export const isQuery = (s: WireStep): s is Query => QUERY_OPS.has(s.op);

export const OPS = [
  'link.add', 'link.set', 'link.del',
  'addr.add', 'addr.replace', 'addr.del',
  'route.add', 'route.replace', 'route.del',
  'neigh.replace', 'neigh.del',
  'fdb.append', 'fdb.replace', 'fdb.del',
  'sysctl',
  'netns.create', 'netns.delete', 'netns.exists',
  'nft.apply', 'nft.check', 'nft.list',
  'link.list', 'link.get', 'route.list',
] as const;

export const ATTRS = [
  'ns', 'name', 'kind', 'mtu', 'mac', 'up', 'master', 'alias', 'parent', 'netns',
  'peer_name', 'peer_netns', 'peer_mac', 'peer_mtu',
  'mode', 'vlan_id', 'vni', 'local', 'remote', 'port', 'learning', 'ttl',
  'hairpin', 'newname',
  'cidr', 'broadcast', 'nodad', 'noprefixroute',
  'dst', 'via', 'dev', 'src', 'metric', 'family',
  'ip', 'asmaster',
  'key', 'value', 'path', 'script',
  'proxy',
] as const;

type Attr = (typeof ATTRS)[number];
const OP_CODE = new Map<string, number>(OPS.map((o, i) => [o, i + 1]));
const ATTR_CODE = new Map<string, number>(ATTRS.map((a, i) => [a, i + 1]));
const TOL_BITS = { exists: 1, gone: 2, any: 4 } as const;
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export const FLAG_FORCE = 1;
export const FLAG_BACKGROUND = 2;

/** The attributes of a step, in wire order (numbers and booleans as u32, strings as bytes). */
export function attrsOf(s: WireStep): [Attr, string | number][] {
  const out: [Attr, string | number][] = [];
  const put = (a: Attr, v: string | number | boolean | undefined | null) => {
    if (v === undefined || v === null) return;
    out.push([a, typeof v === 'boolean' ? (v ? 1 : 0) : v]);
  };
  if ('ns' in s) put('ns', s.ns);
  switch (s.op) {
    case 'link.add':
      put('name', s.name), put('kind', s.kind), put('mtu', s.mtu), put('mac', s.mac), put('up', s.up);
      put('master', s.master), put('netns', s.netns), put('parent', s.parent);
      if (s.peer) put('peer_name', s.peer.name), put('peer_netns', s.peer.netns), put('peer_mac', s.peer.mac), put('peer_mtu', s.peer.mtu);
      put('mode', s.mode), put('vlan_id', s.vlanId);
      if (s.vxlan) put('vni', s.vxlan.vni), put('local', s.vxlan.local), put('remote', s.vxlan.remote), put('port', s.vxlan.port), put('learning', s.vxlan.learning), put('ttl', s.vxlan.ttl), put('proxy', s.vxlan.proxy);
      break;
    case 'link.set':
      put('name', s.name), put('up', s.up), put('master', s.master === null ? '' : s.master), put('mtu', s.mtu), put('mac', s.mac);
      put('newname', s.rename), put('alias', s.alias), put('netns', s.netns), put('hairpin', s.hairpin);
      break;
    case 'link.del':
    case 'link.get':
      put('name', s.name);
      break;
    case 'addr.add':
    case 'addr.replace':
    case 'addr.del':
      put('dev', s.dev), put('cidr', s.cidr), put('broadcast', s.broadcast), put('nodad', s.nodad), put('noprefixroute', s.noprefixroute);
      break;
    case 'route.add':
    case 'route.replace':
    case 'route.del':
      put('dst', s.dst), put('via', s.via), put('dev', s.dev), put('src', s.src), put('metric', s.metric), put('family', s.family);
      break;
    case 'neigh.replace':
    case 'neigh.del':
      put('dev', s.dev), put('ip', s.ip), put('mac', s.mac);
      break;
    case 'fdb.append':
    case 'fdb.replace':
    case 'fdb.del':
      put('dev', s.dev), put('mac', s.mac), put('ip', s.dst), put('asmaster', s.master);
      break;
    case 'sysctl':
      put('key', s.key), put('value', s.value);
      break;
    case 'netns.create':
    case 'netns.delete':
    case 'netns.exists':
      put('path', s.path);
      break;
    case 'nft.apply':
    case 'nft.check':
    case 'nft.list':
      put('script', s.script);
      break;
    case 'route.list':
      put('family', s.family);
      break;
    case 'link.list':
      break;
  }
  return out;
}

/** One request frame: u32 len · u32 id · u8 flags · u16 nsteps · steps. */
export function encodeRequest(id: number, steps: WireStep[], flags: number): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(11);
  head.writeUInt32BE(id, 4);
  head[8] = flags;
  head.writeUInt16BE(steps.length, 9);
  parts.push(head);
  for (const s of steps) {
    const code = OP_CODE.get(s.op);
    if (!code) throw new Error(`unknown kernel operation ${s.op}`);
    const attrs: Buffer[] = [];
    for (const [a, v] of attrsOf(s)) {
      const value = typeof v === 'number' ? u32(v) : Buffer.from(v, 'utf8');
      if (typeof v === 'string' && v.includes('\0')) throw new Error(`${s.op}: ${a} holds a NUL byte`);
      const ah = Buffer.alloc(5);
      ah[0] = ATTR_CODE.get(a)!;
      ah.writeUInt32BE(value.length, 1);
      attrs.push(ah, value);
    }
    const body = Buffer.concat(attrs);
    const sh = Buffer.alloc(6);
    sh[0] = code;
    sh[1] = 'tolerate' in s ? tolerances(s).reduce((bits, t) => bits | TOL_BITS[t], 0) : 0;
    sh.writeUInt32BE(body.length, 2);
    parts.push(sh, body);
  }
  const frame = Buffer.concat(parts);
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

export interface WireResult {
  /** Step index; 0xffff for a request the agent could not read. */
  index: number;
  errno: number;
  /** errno name ('' when the step succeeded). */
  code: string;
  tolerated: boolean;
  message: string;
  data: string;
}

export interface WireResponse {
  id: number;
  /** Time the agent spent on the request (kernel work and its own), microseconds. */
  execUs: number;
  results: WireResult[];
}

/** A response body (after its u32 length). */
export function decodeResponse(body: Buffer): WireResponse {
  const id = body.readUInt32BE(0);
  const execUs = body.readUInt32BE(4);
  const n = body.readUInt16BE(8);
  let o = 10;
  const results: WireResult[] = [];
  for (let i = 0; i < n; i++) {
    const index = body.readUInt16BE(o);
    const errno = body.readInt32BE(o + 2);
    const tolerated = body[o + 6] === 1;
    const mlen = body.readUInt32BE(o + 7);
    const message = body.toString('utf8', o + 11, o + 11 + mlen);
    o += 11 + mlen;
    const dlen = body.readUInt32BE(o);
    const data = body.toString('utf8', o + 4, o + 4 + dlen);
    o += 4 + dlen;
    results.push({ index, errno, code: errno ? (ERRNO_NAMES.get(errno) ?? `E${errno}`) : '', tolerated, message, data });
  }
  return { id, execUs, results };
}

function u32(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`not a u32: ${n}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
