import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/daemons.js';
import { ATTRS, OPS, attrsOf, decodeResponse, encodeRequest, FLAG_BACKGROUND, FLAG_FORCE } from '../../src/kernel/wire.js';
import { describe, ipLines, bridgeLine } from '../../src/kernel/render.js';

// The kernel agent's protocol as data: the frames weftd writes and reads, the C enums they
// depend on, and the command path's rendering of the same steps.

/** The names of a C enum in agent.h, in order (OP_LINK_ADD -> link.add, A_PEER_NAME -> peer_name). */
function cEnum(prefix: string, first: string, last: string): string[] {
  const header = readFileSync(join(REPO_ROOT, 'src/kernel/agent/agent.h'), 'utf8');
  const body = header.slice(header.indexOf(first), header.indexOf(last));
  return [...body.matchAll(new RegExp(`\\b${prefix}_([A-Z0-9_]+)`, 'g'))].map((m) => m[1]!.toLowerCase());
}

test('wire tables are the C enums, in order', () => {
  const ops = cEnum('OP', 'OP_LINK_ADD', 'OP_MAX');
  const dotted = ops.map((o) => o.replace(/^(link|addr|route|neigh|fdb|netns|nft)_/, '$1.'));
  assert.deepEqual(dotted, [...OPS]);
  assert.deepEqual(cEnum('A', 'A_NS', 'A_MAX'), [...ATTRS]);
});

test('a request frame: length, id, flags, steps of typed attributes', () => {
  const f = encodeRequest(7, [{ op: 'link.add', name: 'br-x', kind: 'bridge', mtu: 1400, up: true, tolerate: 'exists' }, { op: 'link.del', name: 'v', ns: '/run/n', tolerate: ['gone', 'any'] }], FLAG_FORCE | FLAG_BACKGROUND);
  assert.equal(f.readUInt32BE(0), f.length - 4);
  assert.equal(f.readUInt32BE(4), 7);
  assert.equal(f[8], 3);
  assert.equal(f.readUInt16BE(9), 2);
  // step 1: op 1 (link.add), tolerate 1 (exists), attrs name, kind, mtu (u32), up (u32 1)
  assert.equal(f[11], 1);
  assert.equal(f[12], 1);
  const alen = f.readUInt32BE(13);
  const attrs = f.subarray(17, 17 + alen);
  const seen: [number, Buffer][] = [];
  for (let o = 0; o < attrs.length; ) {
    const len = attrs.readUInt32BE(o + 1);
    seen.push([attrs[o]!, attrs.subarray(o + 5, o + 5 + len)]);
    o += 5 + len;
  }
  assert.deepEqual(seen.map(([t]) => ATTRS[t - 1]), ['name', 'kind', 'mtu', 'up']);
  assert.equal(seen[0]![1].toString(), 'br-x');
  assert.equal(seen[2]![1].readUInt32BE(0), 1400);
  assert.equal(seen[3]![1].readUInt32BE(0), 1);
  // step 2: link.del (3) with gone|any (6), ns first
  const s2 = 17 + alen;
  assert.equal(f[s2], 3);
  assert.equal(f[s2 + 1], 6);
  assert.equal(ATTRS[f[s2 + 6]! - 1], 'ns');
  assert.throws(() => encodeRequest(1, [{ op: 'link.del', name: 'a\0b' }], 0), /NUL/);
});

test('attributes of every kind of step', () => {
  assert.deepEqual(attrsOf({ op: 'link.set', name: 'v', master: null, up: false }), [['name', 'v'], ['up', 0], ['master', '']]);
  assert.deepEqual(attrsOf({ op: 'link.add', name: 'v', kind: 'veth', peer: { name: 'eth0', netns: '/n', mac: '02:42:00:00:00:02' } }), [
    ['name', 'v'], ['kind', 'veth'], ['peer_name', 'eth0'], ['peer_netns', '/n'], ['peer_mac', '02:42:00:00:00:02'],
  ]);
  assert.deepEqual(attrsOf({ op: 'link.add', name: 'vx', kind: 'vxlan', parent: 'eth0', vxlan: { vni: 42, remote: '10.0.0.2', port: 4789, learning: false } }), [
    ['name', 'vx'], ['kind', 'vxlan'], ['parent', 'eth0'], ['vni', 42], ['remote', '10.0.0.2'], ['port', 4789], ['learning', 0],
  ]);
  assert.deepEqual(attrsOf({ op: 'fdb.append', dev: 'vx', mac: '00:00:00:00:00:00', dst: '10.0.0.2' }), [['dev', 'vx'], ['mac', '00:00:00:00:00:00'], ['ip', '10.0.0.2']]);
  assert.deepEqual(attrsOf({ op: 'route.list', family: 6, ns: '/n' }), [['ns', '/n'], ['family', 6]]);
});

test('a response: one result per step run, with errno name, message and data', () => {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(10);
  head.writeUInt32BE(7, 0);
  head.writeUInt32BE(123, 4);
  head.writeUInt16BE(2, 8);
  parts.push(head);
  const result = (index: number, errno: number, tol: number, msg: string, data: string) => {
    const b = Buffer.alloc(11);
    b.writeUInt16BE(index, 0);
    b.writeInt32BE(errno, 2);
    b[6] = tol;
    b.writeUInt32BE(Buffer.byteLength(msg), 7);
    const d = Buffer.alloc(4);
    d.writeUInt32BE(Buffer.byteLength(data), 0);
    parts.push(b, Buffer.from(msg), d, Buffer.from(data));
  };
  result(0, 17, 1, 'File exists', '');
  result(1, 0, 0, '', '[{"name":"lo"}]');
  const r = decodeResponse(Buffer.concat(parts));
  assert.equal(r.id, 7);
  assert.equal(r.execUs, 123);
  assert.deepEqual(r.results, [
    { index: 0, errno: 17, code: 'EEXIST', tolerated: true, message: 'File exists', data: '' },
    { index: 1, errno: 0, code: '', tolerated: false, message: '', data: '[{"name":"lo"}]' },
  ]);
});

test('the command path renders the same steps as ip and bridge batch lines', () => {
  assert.deepEqual(ipLines({ op: 'link.add', name: 'vx0', kind: 'vxlan', parent: 'eth0', vxlan: { vni: 42, local: '10.0.0.1', port: 4789, learning: false } }), [
    'link add vx0 type vxlan id 42 local 10.0.0.1 dev eth0 dstport 4789 nolearning',
  ]);
  assert.deepEqual(ipLines({ op: 'link.set', name: 'eth0', rename: 'z1', netns: '/n' }), ['link set eth0 netns /n name z1']);
  assert.deepEqual(ipLines({ op: 'route.replace', dst: 'default', dev: 'eth0', family: 6 }), ['route replace ::/0 dev eth0']);
  assert.deepEqual(ipLines({ op: 'neigh.replace', dev: 'vx0', ip: '10.1.0.3', mac: '02:42:0a:01:00:03' }), ['neigh replace 10.1.0.3 lladdr 02:42:0a:01:00:03 dev vx0 nud permanent']);
  assert.equal(bridgeLine({ op: 'fdb.append', dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.0.0.2' }), 'fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2 self permanent');
  assert.equal(bridgeLine({ op: 'fdb.del', dev: 'vx0', mac: '02:42:0a:01:00:03', master: true }), 'fdb del 02:42:0a:01:00:03 dev vx0 master');
  assert.throws(() => ipLines({ op: 'link.set', name: 'x' }), /nothing to set/);
  assert.equal(describe({ op: 'nft.apply', script: 'add table inet weft\n' }), 'nft -f (add table inet weft)');
  assert.equal(describe({ op: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' }), 'sysctl net.ipv4.ip_forward=1');
});
