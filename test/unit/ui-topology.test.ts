import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type TopologyHost } from '../../src/ui/topology.js';
import { exposureWarning, isLoopback, parseUiAddress } from '../../src/ui/address.js';
import { parseDaemonArgs } from '../../src/daemon/config.js';
import { containerRecord, endpointRecord, networkRecord, testId } from '../helpers/records.js';

const self: TopologyHost = { id: 'local', hostname: 'vm', addr: null, role: 'none', alive: true, self: true };
const bridge = networkRecord({ id: testId(1, 'n'), name: 'bridge', predefined: true, driverState: { bridgeName: 'weft0' }, ipam: { driver: 'default', options: {}, config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } });
const user = networkRecord({ id: testId(2, 'n'), name: 'alpine-net', driverState: { bridgeName: 'br-000200000000' }, ipam: { driver: 'default', options: {}, config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] } });
const overlay = networkRecord({ id: testId(3, 'n'), name: 'ov', driver: 'overlay', scope: 'swarm', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] } });

test('the seed walkthrough: networks with device, subnets and gateways; containers with their interfaces; one edge per endpoint', () => {
  const a1 = containerRecord({ id: testId(1, 'c'), name: 'alpine1', networks: [{ networkId: bridge.id, aliases: [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }] });
  const a4 = containerRecord({ id: testId(4, 'c'), name: 'alpine4', networkMode: 'alpine-net' });
  const e1 = endpointRecord(1, bridge, '172.17.0.2');
  const e4a = endpointRecord(4, user, '172.18.0.3');
  const e4b = endpointRecord(5, bridge, '172.17.0.4', { containerId: a4.id, ifname: 'eth1' });
  const t = buildTopology({ networks: [user, bridge], containers: [a4, a1], endpoints: [e4b, e1, e4a], hosts: [self], isRealized: (n) => n.id !== user.id });
  assert.deepEqual(t.networks.map((n) => [n.name, n.device, n.host, n.realized, n.subnets]), [
    ['alpine-net', 'br-000200000000', 'local', false, [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }]],
    ['bridge', 'weft0', 'local', true, [{ subnet: '172.17.0.0/16', gateway: '172.17.0.1' }]],
  ]);
  assert.deepEqual(t.containers.map((c) => c.name), ['alpine1', 'alpine4']);
  assert.deepEqual(t.containers[1].interfaces.map((i) => [i.ifname, i.ipv4, i.mac, i.network]), [
    ['eth0', '172.18.0.3/16', '02:42:ac:12:00:03', user.id],
    ['eth1', '172.17.0.4/16', '02:42:ac:11:00:04', bridge.id],
  ]);
  assert.deepEqual(t.containers[0].attachments, [bridge.id]);
  assert.equal(t.endpoints.length, 3);
  assert.deepEqual(new Set(t.endpoints.map((e) => `${e.container}>${e.network}`)), new Set([`${a1.id}>${bridge.id}`, `${a4.id}>${user.id}`, `${a4.id}>${bridge.id}`]));
});

test('a network whose records the cluster shares (overlay) belongs to no one host', () => {
  const other: TopologyHost = { id: 'n2', hostname: 'vm2', addr: '10.9.0.2', role: 'worker', alive: true, self: false };
  const t = buildTopology({ networks: [overlay, user], containers: [], endpoints: [], hosts: [self, other], isRealized: () => true });
  const ov = t.networks.find((n) => n.name === 'ov')!;
  assert.equal(ov.multiHost, true);
  assert.equal(ov.host, null);
  assert.equal(t.networks.find((n) => n.name === 'alpine-net')!.host, 'local');
  assert.equal(t.hosts.length, 2);
});

test('no edge to a network or container that is not in the records (one being removed)', () => {
  const gone = networkRecord({ id: testId(9, 'n'), name: 'gone', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1' }] } });
  const a = containerRecord({ id: testId(1, 'c'), name: 'a' });
  const t = buildTopology({ networks: [bridge], containers: [a], endpoints: [endpointRecord(1, gone, '10.1.0.2'), endpointRecord(2, bridge, '172.17.0.3')], hosts: [self], isRealized: () => true });
  assert.deepEqual(t.endpoints, []);
  assert.deepEqual(t.containers[0].interfaces, []);
});

test('--ui addresses: loopback by default, others accepted with a warning', () => {
  assert.deepEqual(parseUiAddress('8080'), { host: '127.0.0.1', port: 8080, loopback: true });
  assert.deepEqual(parseUiAddress('127.0.0.1:7373'), { host: '127.0.0.1', port: 7373, loopback: true });
  assert.deepEqual(parseUiAddress('[::1]:80'), { host: '::1', port: 80, loopback: true });
  assert.deepEqual(parseUiAddress('localhost:80'), { host: 'localhost', port: 80, loopback: true });
  const open = parseUiAddress('0.0.0.0:8080');
  assert.equal(open.loopback, false);
  assert.match(exposureWarning(open)!, /not loopback/);
  assert.equal(exposureWarning(parseUiAddress('8080')), null);
  assert.equal(isLoopback('127.8.9.1'), true);
  assert.equal(isLoopback('10.0.0.1'), false);
  for (const bad of ['', 'x', 'host.example:80', '1.2.3.4:70000', '1.2.3.4:', ':-1', '[::1]']) assert.throws(() => parseUiAddress(bad), /invalid ui/, bad);
});

test('weftd --ui is opt-in and validated', () => {
  assert.equal(parseDaemonArgs([]).ui, undefined);
  assert.deepEqual(parseDaemonArgs(['--ui', '9000']).ui, { host: '127.0.0.1', port: 9000, loopback: true });
  assert.throws(() => parseDaemonArgs(['--ui', 'nope']), /invalid ui "nope"/);
});
