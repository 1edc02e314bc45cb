import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedSpace, type ClaimStore } from '../../src/ipam/shared.js';
import { DnsTable, TYPE_A } from '../../src/dns/table.js';
import { encryptedRefusal, parseOverlayOptions, configOf, overlayState } from '../../src/drivers/overlay/options.js';
import { joinSteps, networkUpSteps, peerAddSteps, peerDelSteps, vxlanName, type Peer } from '../../src/drivers/overlay/commands.js';
import { ipLines, bridgeLine } from '../../src/kernel/render.js';
import { attrsOf } from '../../src/kernel/wire.js';
import { networkRecord, endpointRecord, testId } from '../helpers/records.js';

// The overlay's pure parts: the shared (cluster-wide) address space over a claim store, the
// driver's options and kernel plans, and remote endpoints in the DNS table.

/** A claim store in memory with etcd's create-if-absent semantics; each call yields first, so concurrent callers interleave. */
function memoryClaims(): ClaimStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    map,
    keys: async (prefix) => (await tick(), [...map.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length))),
    claim: async (key, value) => {
      await tick();
      if (map.has(key)) return false;
      map.set(key, value);
      return true;
    },
    release: async (key) => void map.delete(key),
    releasePrefix: async (prefix) => {
      for (const k of [...map.keys()]) if (k.startsWith(prefix)) map.delete(k);
    },
  };
}

const SWARM = [{ base: '10.0.0.0/8', size: 24 }];

test('shared space: default pools are swarm\'s /24s in order, a held subnet is never handed out twice', async () => {
  const claims = memoryClaims();
  const a = new SharedSpace('GlobalDefault', SWARM, claims);
  const b = new SharedSpace('GlobalDefault', SWARM, claims); // another host, same store
  const [p1, p2] = await Promise.all([a.requestPool(undefined, undefined, false), b.requestPool(undefined, undefined, false)]);
  assert.deepEqual([p1.pool, p2.pool].sort(), ['10.0.0.0/24', '10.0.1.0/24']);
  await assert.rejects(b.requestPool('10.0.1.0/24', undefined, false), /Pool overlaps/);
  await assert.rejects(b.requestPool('10.0.0.0/16', undefined, false), /Pool overlaps/);
  // A replay (another host learning the network) is granted the claim its creator made.
  assert.equal((await b.requestPool('10.0.1.0/24', undefined, true)).poolId, 'GlobalDefault/10.0.1.0/24');
  await a.releasePool(p1.poolId);
  assert.equal((await b.requestPool(undefined, undefined, false)).pool, p1.pool);
});

test('shared space: the cluster\'s own default pools (swarm init --default-addr-pool, mask length) replace swarm\'s', async () => {
  const claims = { ...memoryClaims(), defaultPools: async () => [{ base: '10.100.0.0/16', size: 26 }] };
  const s = new SharedSpace('GlobalDefault', SWARM, claims);
  assert.equal((await s.requestPool(undefined, undefined, false)).pool, '10.100.0.0/26');
  assert.equal((await s.requestPool(undefined, undefined, false)).pool, '10.100.0.64/26');
});

test('shared space: concurrent requests from three hosts never get the same address', async () => {
  const claims = memoryClaims();
  const hosts = [0, 1, 2].map(() => new SharedSpace('GlobalDefault', SWARM, claims));
  const { poolId } = await hosts[0].requestPool('10.0.9.0/24', undefined, false);
  assert.equal(await hosts[0].requestAddress(poolId, '10.0.9.1', false, true), '10.0.9.1/24'); // the gateway
  const got = await Promise.all(Array.from({ length: 60 }, (_, i) => hosts[i % 3].requestAddress(poolId, undefined, false, false)));
  assert.equal(new Set(got).size, 60);
  assert.ok(!got.includes('10.0.9.1/24') && !got.includes('10.0.9.0/24'));
  await assert.rejects(hosts[1].requestAddress(poolId, got[0], false, false), /Address already in use/);
  assert.equal(await hosts[1].requestAddress(poolId, got[0], true, false), got[0]); // a replay keeps its address
  await hosts[2].releaseAddress(poolId, got[5]);
  assert.equal(await hosts[1].requestAddress(poolId, undefined, false, false), got[5]);
});

test('shared space: an --ip-range bounds the addresses; a full range says so', async () => {
  const claims = memoryClaims();
  const s = new SharedSpace('GlobalDefault', SWARM, claims);
  const { poolId } = await s.requestPool('10.5.0.0/24', '10.5.0.8/30', false);
  assert.equal(poolId, 'GlobalDefault/10.5.0.0/24/10.5.0.8/30');
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await s.requestAddress(poolId, undefined, false, false));
  assert.deepEqual(got, ['10.5.0.8/24', '10.5.0.9/24', '10.5.0.10/24', '10.5.0.11/24']);
  await assert.rejects(s.requestAddress(poolId, undefined, false, false), /No available addresses/);
});

test('overlay options: MTU 1450 by default, com.docker.network.driver.mtu honoured, encrypted refused naming what is missing', () => {
  const net = (options: Record<string, string>) => networkRecord({ id: testId(1, 'n'), name: 'ov', driver: 'overlay', scope: 'swarm', options });
  assert.equal(parseOverlayOptions(net({})).mtu, 1450);
  assert.equal(parseOverlayOptions(net({ 'com.docker.network.driver.mtu': '1400' })).mtu, 1400);
  assert.throws(() => parseOverlayOptions(net({ 'com.docker.network.driver.mtu': 'big' })), /invalid MTU/);
  assert.throws(() => parseOverlayOptions(net({ encrypted: '' }), () => false), /lacks IPsec ESP .*and WireGuard/);
  assert.match(encryptedRefusal(() => true).message, /does not implement encrypted/);
  assert.deepEqual(configOf({ ...net({}), driverState: overlayState({ vni: 4097, mtu: 1450 }) }), { vni: 4097, mtu: 1450, port: 4789 });
});

test('overlay plans: VXLAN made on the underlay then moved into the network namespace, learning off, ARP proxy; peers as static entries', () => {
  const net = networkRecord({ id: 'ab12345'.padEnd(64, '0'), name: 'ov', driver: 'overlay', scope: 'swarm', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] } });
  const cfg = { vni: 4097, mtu: 1450 };
  assert.equal(vxlanName(net, cfg), 'vx-001001-ab123');
  const up = networkUpSteps(net, cfg, '/run/ov/1-ab', '10.210.0.11');
  const lines = up.filter((s) => s.op.startsWith('link') || s.op.startsWith('addr')).flatMap((s) => ipLines(s));
  assert.ok(lines.includes('link add vx-001001-ab123 mtu 1450 type vxlan id 4097 local 10.210.0.11 dstport 4789 nolearning proxy'), lines.join('\n'));
  assert.ok(lines.includes('link set vx-001001-ab123 netns /run/ov/1-ab'));
  assert.ok(up.some((s) => s.op === 'addr.replace' && s.ns === '/run/ov/1-ab' && s.dev === 'br0' && s.cidr === '10.0.1.1/24'));
  const ep = { ...endpointRecord(2, net, '10.0.1.2/24'), gateway4: '10.0.1.1' };
  const join = joinSteps(cfg, ep, '/run/ov/1-ab', '/run/c2');
  assert.ok(join.some((s) => s.op === 'link.add' && s.kind === 'veth' && s.netns === '/run/ov/1-ab' && s.peer?.netns === '/run/c2' && s.mtu === 1450));
  assert.ok(!join.some((s) => s.op.startsWith('route')), 'no default route through the overlay (docker_gwbridge gives it)');
  const peer: Peer = { netId: net.id, epId: testId(3, 'e'), node: 'n2', vtep: '10.210.0.12', ip: '10.0.1.3', mac: '02:42:0a:00:01:03', containerId: testId(3, 'c'), name: 'c3', aliases: [] };
  const add = peerAddSteps(net, cfg, '/run/ov/1-ab', peer);
  assert.equal(bridgeLine(add[0] as never), 'fdb replace 02:42:0a:00:01:03 dev vx-001001-ab123 dst 10.210.0.12 self permanent');
  assert.deepEqual(ipLines(add[1]), ['neigh replace 10.0.1.3 lladdr 02:42:0a:00:01:03 dev vx-001001-ab123 nud permanent']);
  assert.equal(peerDelSteps(net, cfg, '/run/ov/1-ab', peer).length, 2);
  const vxAdd = up.find((s) => s.op === 'link.add' && s.kind === 'vxlan')!;
  assert.deepEqual(attrsOf(vxAdd as never).filter(([a]) => a === 'proxy' || a === 'learning'), [['learning', 0], ['proxy', 1]]); // the agent's wire form
});

test('dns table: remote endpoints (peers) resolve on their network for local containers, and go when removed', () => {
  const net = networkRecord({ id: testId(1, 'n'), name: 'ov', driver: 'overlay', scope: 'swarm', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] } });
  const table = new DnsTable({ namesOn: () => true });
  // The network arrives from the cluster store after a peer did: the peer is indexed then.
  table.putPeer({ epId: testId(9, 'e'), netId: net.id, containerId: testId(9, 'c'), name: 'remote', aliases: ['db'], ip: '10.0.1.9' });
  table.apply({ type: 'network', action: 'update', network: net, timeNano: 0n });
  const local = endpointRecord(2, net, '10.0.1.2/24');
  const c = { id: local.containerId, name: 'here', networks: [{ networkId: net.id, aliases: [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }], config: { Hostname: '' } } as never;
  table.apply({ type: 'network', action: 'connect', network: net, endpoint: local, container: c, timeNano: 0n });
  assert.equal(table.lookup('10.0.1.2', 'remote', TYPE_A)?.answers[0].data, '10.0.1.9');
  assert.equal(table.lookup('10.0.1.2', 'db', TYPE_A)?.answers[0].data, '10.0.1.9');
  table.removePeer(testId(9, 'e'));
  assert.equal(table.lookup('10.0.1.2', 'remote', TYPE_A), null);
});
