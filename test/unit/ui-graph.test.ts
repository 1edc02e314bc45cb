import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type Topology } from '../../src/ui/topology.js';
import { containerRecord, endpointRecord, networkRecord, testId } from '../helpers/records.js';

// The page's graph module (plain browser JavaScript, no DOM in it) run in node: which elements a
// topology becomes and where they are placed.

interface Element {
  group: 'nodes' | 'edges';
  data: { id: string; parent?: string; source?: string; target?: string; label: string };
  classes: string;
}
interface Graph {
  elementsOf(t: Topology): Element[];
  positionsOf(t: Topology): Record<string, { x: number; y: number }>;
}
const graph = (await import(new URL('../../../src/ui/assets/graph.js', import.meta.url).href)) as Graph;

const pool = (subnet: string, gw: string) => ({ driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: gw }] });
const bridge = networkRecord({ id: testId(1, 'n'), name: 'bridge', predefined: true, driverState: { bridgeName: 'weft0' }, ipam: pool('172.17.0.0/16', '172.17.0.1') });
const user = networkRecord({ id: testId(2, 'n'), name: 'alpine-net', driverState: { bridgeName: 'br-x' }, ipam: pool('172.18.0.0/16', '172.18.0.1') });
const host = networkRecord({ id: testId(3, 'n'), name: 'host', driver: 'host', predefined: true });
const overlay = networkRecord({ id: testId(4, 'n'), name: 'ov', driver: 'overlay', scope: 'swarm', ipam: pool('10.0.1.0/24', '10.0.1.1') });
const attach = (networkId: string) => ({ networkId, aliases: [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} });

const containers = [
  containerRecord({ id: testId(1, 'c'), name: 'alpine1' }),
  containerRecord({ id: testId(2, 'c'), name: 'alpine2' }),
  containerRecord({ id: testId(3, 'c'), name: 'alpine3' }),
  containerRecord({ id: testId(4, 'c'), name: 'alpine4' }),
  containerRecord({ id: testId(5, 'c'), name: 'stopped', networks: [attach(user.id)], state: { status: 'exited', pid: 0, exitCode: 0, startedAt: '', finishedAt: '', error: '' } }),
];
const endpoints = [
  endpointRecord(1, bridge, '172.17.0.2'),
  endpointRecord(2, bridge, '172.17.0.3'),
  endpointRecord(3, user, '172.18.0.2'),
  endpointRecord(4, user, '172.18.0.3'),
  endpointRecord(14, bridge, '172.17.0.4', { containerId: testId(4, 'c'), ifname: 'eth1' }),
];
const t = buildTopology({ networks: [bridge, user, host, overlay], containers, endpoints, hosts: [{ id: 'local', hostname: 'vm', addr: null, role: 'none', alive: true, self: true }], isRealized: () => true });

test('elements: a host box around its networks and containers, an edge per endpoint labelled with interface, address and MAC', () => {
  const els = graph.elementsOf(t);
  const byId = new Map(els.map((e) => [e.data.id, e]));
  assert.equal(byId.get(`n:${user.id}`)!.data.parent, 'h:local');
  assert.equal(byId.get(`n:${overlay.id}`)!.data.parent, undefined, 'an overlay spans hosts');
  assert.match(byId.get(`n:${overlay.id}`)!.classes, /multihost/);
  assert.match(byId.get(`n:${host.id}`)!.classes, /idle/);
  assert.equal(byId.get(`c:${testId(1, 'c')}`)!.data.parent, 'h:local');
  const edges = els.filter((e) => e.group === 'edges');
  assert.equal(edges.filter((e) => e.data.id.startsWith('e:')).length, 5);
  assert.equal(byId.get(`e:${endpoints[4].id}`)!.data.label, 'eth1 172.17.0.4/16\n02:42:ac:11:00:04');
  const planned = edges.filter((e) => e.classes === 'planned');
  assert.deepEqual(planned.map((e) => [e.data.source, e.data.target]), [[`c:${testId(5, 'c')}`, `n:${user.id}`]], 'a stopped container: a dotted edge to its network');
  assert.match(byId.get(`c:${testId(5, 'c')}`)!.classes, /stopped/);
});

test('positions: networks in a row, containers below them without overlapping, one on two networks between them', () => {
  const pos = graph.positionsOf(t);
  const x = (id: string) => pos[id].x;
  assert.ok(x(`n:${bridge.id}`) < x(`n:${user.id}`), 'the default bridge first');
  assert.ok(x(`n:${user.id}`) < x(`n:${host.id}`), 'unused predefined networks last');
  const cs = containers.map((c) => pos[`c:${c.id}`]);
  assert.ok(cs.every((p) => p.y > pos[`n:${bridge.id}`].y), 'containers below networks');
  const xs = cs.map((p) => p.x).sort((a, b) => a - b);
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] - xs[i - 1] >= 150, `containers overlap: ${xs}`);
  const a4 = x(`c:${testId(4, 'c')}`);
  assert.ok(a4 > x(`c:${testId(1, 'c')}`) && a4 > x(`c:${testId(2, 'c')}`), 'alpine4 right of the bridge-only containers');
  assert.ok(pos[`n:${overlay.id}`].y < pos[`n:${bridge.id}`].y, 'overlays above the hosts');
  assert.deepEqual(graph.positionsOf(t), pos, 'the same topology, the same layout');
});
