import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord } from '../../src/common/model.js';
import { arrivalSteps, defaultRouteSteps, parkSteps, plumbSteps, removeSteps, sandboxSteps } from '../../src/drivers/plumbing.js';
import { ipLines } from '../../src/kernel/render.js';
import type { Step } from '../../src/kernel/types.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';

// The container-side plumbing every 'interface' driver shares, as data and as the `ip -batch`
// lines the command backend would run (the agent runs the same steps as netlink messages).

const lines = (steps: Step[]) => steps.flatMap(ipLines);
const NS = '/run/weft/netns/abc';
const net = networkRecord({ id: testId(1, 'a'), name: 'n', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.7.0.0/24', Gateway: '10.7.0.1' }] } });
const ep = (over: Partial<EndpointRecord> = {}) => endpointRecord(1, net, '10.7.0.2', over);

test('arrivals: a veth made with its peer in place, a child made in the sandbox, an existing link moved in and renamed', () => {
  assert.deepEqual(lines(arrivalSteps(ep(), NS, { via: 'veth', hostName: 'veth0001eee', mtu: 1450 })), [
    `link add veth0001eee mtu 1450 type veth peer name eth0 mtu 1450 address 02:42:0a:07:00:02 netns ${NS}`,
  ]);
  assert.deepEqual(lines(arrivalSteps(ep({ ifname: 'eth2' }), NS, { via: 'child', kind: 'macvlan', parent: 'ens3', mode: 'bridge' })), [
    `link add link ens3 name eth2 netns ${NS} address 02:42:0a:07:00:02 type macvlan mode bridge`,
  ]);
  const moved = arrivalSteps(ep({ ifname: 'eth1' }), NS, { via: 'move', name: 'tmp0001', mtu: 1400 });
  assert.deepEqual(lines(moved), [`link set tmp0001 netns ${NS}`, 'link set tmp0001 name eth1 address 02:42:0a:07:00:02 mtu 1400 down']);
  assert.equal((moved[0] as { ns?: string }).ns, undefined, 'the move runs where the link is (the daemon\'s namespace)');
  assert.equal((moved[1] as { ns?: string }).ns, NS, 'the rename runs inside the sandbox');
  assert.deepEqual(lines(arrivalSteps(ep({ mac: '' }), NS, { via: 'move', name: 'eth0' })), [`link set eth0 netns ${NS}`, 'link set eth0 down'], 'no MAC recorded: the link keeps its own; same name: no rename');
});

test('the sandbox side: addresses, up, default routes only when this endpoint gives them', () => {
  const dual = ep({ ipv6: 'fd00:7::2/64', gateway6: 'fd00:7::1' });
  assert.deepEqual(lines(sandboxSteps(dual, true, NS)), [
    'addr replace 10.7.0.2/24 brd + dev eth0',
    'addr replace fd00:7::2/64 dev eth0 nodad',
    'link set eth0 up',
    'route replace default via 10.7.0.1 dev eth0',
    'route replace default via fd00:7::1 dev eth0', // ip takes the family from the gateway
  ]);
  assert.ok(sandboxSteps(dual, true, NS).every((s) => 'ns' in s && s.ns === NS));
  assert.deepEqual(lines(sandboxSteps(ep(), false, NS)), ['addr replace 10.7.0.2/24 brd + dev eth0', 'link set eth0 up']);
  assert.deepEqual(defaultRouteSteps(ep({ gateway4: '' }), NS), [], 'no gateway (internal, or IPAM gave none): no route');
  const all = plumbSteps(ep(), NS, { via: 'veth', hostName: 'veth0001eee' }, { defaultRoute: true });
  assert.deepEqual(all.map((s) => s.op), ['link.add', 'addr.replace', 'link.set', 'route.replace'], 'arrival first, then the configuration inside');
});

test('taking it out: parked (down, renamed out of the way, best effort) or deleted (already gone is fine)', () => {
  const parked = parkSteps(ep({ ifname: 'eth1' }), NS, 'z0001eee');
  assert.deepEqual(lines(parked), ['link set eth1 down', 'link set eth1 name z0001eee']);
  assert.ok(parked.every((s) => s.tolerate === 'any' && 'ns' in s && s.ns === NS));
  assert.deepEqual(removeSteps(ep(), NS), [{ op: 'link.del', ns: NS, name: 'eth0', tolerate: 'gone' }]);
});
