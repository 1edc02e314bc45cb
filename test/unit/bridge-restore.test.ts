import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import type { LinkInfo, Step } from '../../src/kernel/types.js';
import { bridgeState, parseBridgeOptions } from '../../src/drivers/bridge/options.js';
import { defaultRouteRepair, planRestore, rejoinTakesDefaultRoute, routeGivers } from '../../src/drivers/bridge/restore-plan.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';

// The planning half of bridge restore as data: records and the links the kernel was seen to hold
// in, the plan out. No kernel, no fake kernel: each case is one call of a pure function.

function network(n: number, subnet: string, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  const net = networkRecord({
    id: testId(n, 'a'),
    name: `net${n}`,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/\d+$/, '1') }] },
    ...extra,
  });
  net.driverState = bridgeState(parseBridgeOptions(net, []));
  return net;
}

const link = (name: string, kind: string, master?: string): LinkInfo => ({ name, index: 0, kind, master, mtu: 1500, mac: '', up: true });
const br = (net: NetworkRecord) => net.driverState.bridgeName!;
const on = (net: NetworkRecord, ...eps: [EndpointRecord, string][]): [string, { ep: EndpointRecord; netnsPath: string }[]] => [net.id, eps.map(([ep, netnsPath]) => ({ ep, netnsPath }))];
const named = (steps: Step[], op: Step['op'], name: string) => steps.filter((s) => s.op === op && 'name' in s && s.name === name);
const deleted = (steps: Step[]) => steps.filter((s) => s.op === 'link.del').map((s) => (s as { name: string }).name).sort();

test('a missing bridge is created, a present one only re-asserted; surviving veths are re-enslaved and their sandbox side re-asserted', () => {
  const A = network(1, '10.9.1.0/24');
  const B = network(2, '10.9.2.0/24');
  const a1 = endpointRecord(1, A, '10.9.1.2');
  const b1 = endpointRecord(2, B, '10.9.2.2');
  const plan = planRestore({
    nets: [A, B],
    endpoints: new Map([on(A, [a1, '/run/x/ns1']), on(B, [b1, '/run/x/ns2'])]),
    links: [link(br(B), 'bridge'), link(a1.hostIfname, 'veth'), link(b1.hostIfname, 'veth', br(B))],
  });
  assert.deepEqual(plan.realize.map((n) => n.name), ['net1', 'net2']);
  assert.equal(named(plan.steps, 'link.add', br(A)).length, 1, 'A\'s bridge is gone: created');
  assert.equal(named(plan.steps, 'link.add', br(B)).length, 0, 'B\'s bridge exists: not created again');
  assert.ok(named(plan.steps, 'link.set', br(B)).some((s) => s.op === 'link.set' && s.up === true && s.mtu === 1500), 'but brought in line');
  assert.ok(plan.steps.some((s) => s.op === 'addr.replace' && s.dev === br(B) && s.cidr === '10.9.2.1/24'));
  assert.ok(named(plan.steps, 'link.set', a1.hostIfname).some((s) => s.op === 'link.set' && s.master === br(A)), 'a re-created bridge lost its ports: re-enslaved');
  assert.ok(plan.steps.some((s) => s.op === 'addr.replace' && s.ns === '/run/x/ns1' && s.cidr === '10.9.1.2/24'), 'sandbox address re-asserted');
  assert.ok(!plan.steps.some((s) => s.op === 'route.replace'), 'routes are checked after the plan, not forced');
  assert.deepEqual(plan.kept.map((w) => w.ep.id), [a1.id, b1.id]);
  assert.deepEqual(plan.rejoin, []);
  assert.deepEqual(deleted(plan.steps), []);
  // Bridge steps come before the ports put on them.
  const bridgeAt = plan.steps.findIndex((s) => s.op === 'link.add' && s.name === br(A));
  const portAt = plan.steps.findIndex((s) => s.op === 'link.set' && s.name === a1.hostIfname);
  assert.ok(bridgeAt < portAt);
});

test('orphans: weft-looking bridges and veths no record explains go; foreign links stay', () => {
  const A = network(1, '10.9.1.0/24');
  const a1 = endpointRecord(1, A, '10.9.1.2');
  const plan = planRestore({
    nets: [A],
    endpoints: new Map([on(A, [a1, '/run/x/ns1'])]),
    links: [
      link(br(A), 'bridge'),
      link(a1.hostIfname, 'veth', br(A)),
      link('br-0123456789ab', 'bridge'), // a removed network's bridge
      link('veth0abcdef', 'veth', br(A)), // a port of ours whose endpoint is gone
      link('veth1abcdef', 'veth'), // its bridge was deleted under it
      link('veth2abcdef', 'veth', 'br-0123456789ab'), // on the orphan bridge
      link('veth3abcdef', 'veth', 'docker0'), // dockerd's
      link('br-mine', 'bridge'), // not weft's pattern
      link('docker0', 'bridge'),
      link('vethfoo', 'veth'), // not weft's pattern
      link('eth0', ''),
    ],
  });
  assert.deepEqual(deleted(plan.steps), ['br-0123456789ab', 'veth0abcdef', 'veth1abcdef', 'veth2abcdef']);
  assert.ok(plan.steps.filter((s) => s.op === 'link.del').every((s) => s.tolerate === 'gone'), 'already gone is fine');
  // Deleting orphans comes first: a name may be reused by what is re-created after.
  const lastDel = plan.steps.map((s) => s.op).lastIndexOf('link.del');
  assert.ok(plan.steps.slice(0, lastDel + 1).every((s) => s.op === 'link.del'));
});

test('lazy networks: one never joined gets no bridge and no nft elements; the default bridge and a seen bridge are realized', () => {
  const A = network(1, '10.9.1.0/24'); // endpoints
  const B = network(2, '10.9.2.0/24'); // its bridge seen: realized before the restart
  const C = network(3, '10.9.3.0/24'); // never joined
  const D = network(9, '172.17.0.0/16', { predefined: true, name: 'bridge', options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'weft0' } });
  D.driverState = bridgeState(parseBridgeOptions(D, []));
  const a1 = endpointRecord(1, A, '10.9.1.2', { ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }] });
  const plan = planRestore({ nets: [A, B, C, D], endpoints: new Map([on(A, [a1, '/run/x/ns1']), on(B), on(C)]), links: [link(br(B), 'bridge')] });
  assert.deepEqual(plan.realize.map((n) => n.name).sort(), ['bridge', 'net1', 'net2']);
  assert.ok(!plan.steps.some((s) => JSON.stringify(s).includes(br(C))));
  assert.doesNotMatch(plan.nftScript, new RegExp(br(C)));
  for (const b of [br(A), br(B), 'weft0']) assert.match(plan.nftScript, new RegExp(`add element inet weft bridges \\{ "${b}" \\}`));
  assert.match(plan.nftScript, /8080/, 'the published port of a restored endpoint');
  assert.equal(plan.ipv6Forwarding, false);
});

test('stale nft elements: the table is rebuilt whole, every set and map flushed before the records\' elements go in', () => {
  const A = network(1, '10.9.1.0/24');
  const plan = planRestore({ nets: [A], endpoints: new Map([on(A, [endpointRecord(1, A, '10.9.1.2'), '/run/x/ns1'])]), links: [] });
  const lines = plan.nftScript.trim().split('\n');
  const firstElement = lines.findIndex((l) => l.startsWith('add element'));
  assert.ok(firstElement > 0);
  for (const set of ['bridges', 'icc', 'masq4', 'pub4']) {
    const flushAt = lines.findIndex((l) => new RegExp(`^flush (set|map) inet weft ${set}$`).test(l));
    assert.ok(flushAt >= 0 && flushAt < firstElement, `${set} flushed before any element is added`);
  }
  assert.ok(lines.slice(firstElement).every((l) => l.startsWith('add element')), 'elements only from the records, after the flushes');
  assert.ok(lines.slice(firstElement).every((l) => l.includes(br(A)) || l.includes('10.9.1.0/24')), lines.slice(firstElement).join('\n'));
});

test('veths gone: endpoints are joined again; links not listed: everything realized and re-joined, nothing deleted', () => {
  const A = network(1, '10.9.1.0/24');
  const C = network(3, '10.9.3.0/24');
  const a1 = endpointRecord(1, A, '10.9.1.2');
  const a2 = endpointRecord(2, A, '10.9.1.3');
  const gone = planRestore({ nets: [A, C], endpoints: new Map([on(A, [a1, '/run/x/ns1'], [a2, '/run/x/ns2'])]), links: [link(br(A), 'bridge'), link(a2.hostIfname, 'veth', br(A))] });
  assert.deepEqual(gone.rejoin.map((w) => w.ep.id), [a1.id]);
  assert.deepEqual(gone.kept.map((w) => w.ep.id), [a2.id]);
  assert.equal(named(gone.steps, 'link.set', a1.hostIfname).length, 0, 'the join makes it, not the restore plan');

  const blind = planRestore({ nets: [A, C], endpoints: new Map([on(A, [a1, '/run/x/ns1'])]), links: null });
  assert.deepEqual(blind.realize.map((n) => n.name), ['net1', 'net3'], 'unseen: every network is taken as realized');
  assert.deepEqual(deleted(blind.steps), []);
  assert.deepEqual(blind.rejoin.map((w) => w.ep.id), [a1.id]);
  assert.ok(named(blind.steps, 'link.add', br(C)).length === 1 && named(blind.steps, 'link.add', br(C))[0]!.tolerate === 'exists');
});

test('records without bridge state, endpoints of other drivers\' networks and IPv6 networks', () => {
  const A = network(1, '10.9.1.0/24', { enableIPv6: true, ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.9.1.0/24', Gateway: '10.9.1.1' }, { Subnet: 'fd00:9::/64', Gateway: 'fd00:9::1' }] } });
  A.driverState = bridgeState(parseBridgeOptions(A, []));
  const broken = networkRecord({ id: testId(5, 'a'), name: 'half', driverState: {} }); // prepare never ran
  const stranger = endpointRecord(7, A, '10.9.1.9', { networkId: testId(8, 'a') });
  const plan = planRestore({ nets: [A, broken], endpoints: new Map([on(A), [testId(8, 'a'), [{ ep: stranger, netnsPath: '/run/x/ns7' }]]]), links: [link(br(A), 'bridge')] });
  assert.deepEqual(plan.realize.map((n) => n.name), ['net1']);
  assert.equal(plan.ipv6Forwarding, true);
  assert.ok(plan.steps.some((s) => s.op === 'addr.replace' && s.cidr === 'fd00:9::1/64' && s.nodad));
  assert.deepEqual([...plan.kept, ...plan.rejoin], [], 'an endpoint of a network not given is not this driver\'s');
});

test('default routes: one giver per sandbox, never an internal network; repaired only when missing', () => {
  const inner = network(1, '10.9.1.0/24', { internal: true });
  const outer = network(2, '10.9.2.0/24');
  const i1 = endpointRecord(1, inner, '10.9.1.2');
  const o1 = endpointRecord(11, outer, '10.9.2.2', { ifname: 'eth1', containerId: i1.containerId }); // beside i1 in ns1
  const o2 = endpointRecord(2, outer, '10.9.2.3'); // alone in ns2
  const links = [link(br(inner), 'bridge'), link(br(outer), 'bridge'), ...[i1, o1, o2].map((e) => link(e.hostIfname, 'veth'))];
  const plan = planRestore({ nets: [inner, outer], endpoints: new Map([on(inner, [i1, '/run/x/ns1']), on(outer, [o1, '/run/x/ns1'], [o2, '/run/x/ns2'])]), links });
  const givers = routeGivers(plan.kept);
  assert.deepEqual(givers.map((g) => [g.netnsPath, g.ep.ifname]), [['/run/x/ns1', 'eth1'], ['/run/x/ns2', 'eth0']]);
  assert.deepEqual(defaultRouteRepair(givers[0]!, [{ dst: '10.9.2.0/24', dev: 'eth1' }]), [{ op: 'route.replace', ns: '/run/x/ns1', dst: 'default', via: '10.9.2.1', dev: 'eth1' }]);
  assert.deepEqual(defaultRouteRepair(givers[0]!, [{ dst: 'default', gateway: '10.9.2.1' }]), []);
  assert.equal(rejoinTakesDefaultRoute(plan.kept.find((w) => w.net === inner)!, []), false, 'internal never gives one');
  assert.equal(rejoinTakesDefaultRoute(givers[1]!, []), true);
  assert.equal(rejoinTakesDefaultRoute(givers[1]!, [{ dst: 'default' }]), false, 'another endpoint already gives it');
});
