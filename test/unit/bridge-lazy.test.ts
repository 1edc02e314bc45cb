import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { BridgeDriver } from '../../src/drivers/bridge/bridge.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';
import { fakeKernel, networkPlans, nftText, type Call } from '../helpers/fake-kernel.js';

// The bridge driver is lazy: createNetwork touches no kernel object, the first join creates the
// bridge and its set elements inside its own plan, deleteNetwork of a never-joined network does
// nothing. Every operation is one plan (one round trip to the agent). A fake kernel records them.

function network(n: number, subnet: string, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  return networkRecord({
    id: testId(n, 'a'),
    name: `net${n}`,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/\d+$/, '1') }] },
    ...extra,
  });
}

function endpoint(n: number, net: NetworkRecord, ip: string, ports?: EndpointRecord['ports']): EndpointRecord {
  return endpointRecord(n, net, ip, ports ? { ports } : {});
}

const ops = (c: Call) => c.steps.map((s) => `${'ns' in s && s.ns ? 'sandbox ' : ''}${s.op}${'name' in s ? ` ${s.name}` : ''}`);

test('createNetwork and deleteNetwork of an unused network touch nothing', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  await driver.deleteNetwork(A);
  assert.equal(calls.length, 0);
  assert.equal(driver.isRealized(A.id), false);
});

test('the first join realizes the network in its own plan; later joins add only the endpoint', async () => {
  const { kernel, calls } = fakeKernel();
  const realized: string[] = [];
  const driver = new BridgeDriver({ kernel });
  driver.onRealized((n) => realized.push(n.name));
  const A = network(1, '10.9.1.0/24', { internal: true, options: { 'com.docker.network.bridge.enable_icc': 'true' } });
  A.driverState = await driver.prepareNetwork(A, []);
  const br = A.driverState.bridgeName;
  await driver.createNetwork(A);
  assert.equal(calls.length, 0);

  const e1 = endpoint(1, A, '10.9.1.2');
  await driver.join(A, e1, '/run/x/ns1', { defaultRoute: true });
  const first = networkPlans(calls);
  assert.equal(first.length, 1, 'one plan: bridge, veth, nft elements and the sandbox side');
  assert.deepEqual(ops(first[0]!), [
    `link.add ${br}`,
    `link.set ${br}`,
    'addr.replace',
    `link.del ${e1.hostIfname}`,
    `link.add ${e1.hostIfname}`,
    `link.set ${e1.hostIfname}`,
    'nft.apply',
    'sandbox addr.replace',
    'sandbox link.set eth0',
    'sandbox route.replace',
  ]);
  assert.equal(first[0]!.steps[0]!.tolerate, 'exists', 'an existing bridge is brought in line, not an error');
  const nft = nftText(first[0]!);
  assert.match(nft, new RegExp(`add element inet weft bridges \\{ "${br}" \\}`));
  assert.match(nft, new RegExp(`add element inet weft icc \\{ "${br}" \\. "${br}" \\}`));
  assert.match(nft, new RegExp(`add element inet weft internal \\{ "${br}" \\}`));
  assert.doesNotMatch(nft, /masq4/, 'internal networks are not masqueraded');
  assert.deepEqual(realized, ['net1']);
  assert.equal(driver.isRealized(A.id), true);

  calls.length = 0;
  await driver.join(A, endpoint(2, A, '10.9.1.3'), '/run/x/ns2', { defaultRoute: true });
  const second = networkPlans(calls);
  assert.equal(second.length, 1);
  assert.ok(!second[0]!.steps.some((s) => s.op === 'nft.apply' || (s.op === 'link.add' && s.kind === 'bridge')), 'no bridge, no elements');
  assert.deepEqual(realized, ['net1'], 'announced once');

  calls.length = 0;
  await driver.deleteNetwork(A);
  const del = networkPlans(calls);
  assert.equal(del.length, 1);
  assert.deepEqual(ops(del[0]!), [`link.del ${br}`, 'nft.apply']);
  assert.match(nftText(del[0]!), /delete element inet weft bridges/);
  assert.equal(driver.isRealized(A.id), false);
});

test('leave is one plan, then the veth deletion in the background', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  const ep = endpoint(1, A, '10.9.1.2', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }] as EndpointRecord['ports']);
  await driver.join(A, ep, '/run/x/ns1', { defaultRoute: true });
  calls.length = 0;
  await driver.leave(A, ep, '/run/x/ns1');
  await driver.deleteNetwork(A); // waits for the background deletion
  const plans = networkPlans(calls);
  assert.deepEqual(ops(plans[0]!), [`link.set ${ep.hostIfname}`, 'sandbox link.set eth0', 'sandbox link.set eth0', 'nft.apply']);
  assert.match(nftText(plans[0]!), /delete element inet weft pub4 \{ tcp \. 8080 \}/);
  assert.deepEqual(ops(plans[1]!), [`link.del ${ep.hostIfname}`]);
  assert.equal(plans[1]!.opts.background, true);
});

test('published ports and masquerade go in the same nft step as the realization', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  const ep = endpoint(1, A, '10.9.1.2', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }] as EndpointRecord['ports']);
  await driver.join(A, ep, '/run/x/ns1', { defaultRoute: true });
  const plans = networkPlans(calls);
  assert.equal(plans.length, 1);
  assert.equal(plans[0]!.steps.filter((s) => s.op === 'nft.apply').length, 1);
  assert.match(nftText(plans[0]!), /add element inet weft masq4 \{ 10\.9\.1\.0\/24 \}/);
  assert.match(nftText(plans[0]!), /add element inet weft pub4 \{ tcp \. 8080 : 10\.9\.1\.2 \. 80 \}/);
  assert.ok(plans[0]!.steps.some((s) => s.op === 'link.set' && s.hairpin === true), 'hairpin for a port publisher');
});

test('concurrent first joins realize the network once', async () => {
  const { kernel, calls } = fakeKernel();
  let announced = 0;
  const driver = new BridgeDriver({ kernel, onRealized: () => announced++ });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  await Promise.all([1, 2, 3].map((i) => driver.join(A, endpoint(i, A, `10.9.1.${i + 1}`), `/run/x/ns${i}`, { defaultRoute: true })));
  assert.equal(calls.filter((c) => c.steps.some((s) => s.op === 'link.add' && s.kind === 'bridge')).length, 1);
  assert.equal(calls.filter((c) => /add element inet weft bridges/.test(nftText(c))).length, 1);
  assert.equal(announced, 1);
});

test('a failed join undoes its endpoint; a failed realization is retried by the next join; delete cleans even a failed one', async () => {
  let fail = true;
  const { kernel, calls } = fakeKernel({ fail: (s) => (fail && s.op === 'link.set' && s.mac ? 'EINVAL' : undefined) });
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  const e1 = endpoint(1, A, '10.9.1.2');
  await assert.rejects(driver.join(A, e1, '/run/x/ns1', { defaultRoute: true }), /EINVAL/);
  assert.equal(driver.isRealized(A.id), false);
  const undo = calls.at(-1)!;
  assert.deepEqual(ops(undo), [`link.del ${e1.hostIfname}`], 'the endpoint\'s veth is removed');
  calls.length = 0;
  await driver.deleteNetwork(A); // the half-made bridge must not leak
  assert.ok(calls.some((c) => c.steps.some((s) => s.op === 'link.del' && s.name === A.driverState.bridgeName)));
  await assert.rejects(driver.join(A, e1, '/run/x/ns1', { defaultRoute: true }), /EINVAL/);
  fail = false;
  calls.length = 0;
  await driver.join(A, e1, '/run/x/ns1', { defaultRoute: true });
  assert.ok(networkPlans(calls)[0]!.steps.some((s) => s.op === 'link.add' && s.kind === 'bridge'), 'realized again');
  assert.equal(driver.isRealized(A.id), true);
});

test('an existing bridge (EEXIST on its add) does not fail the realizing join', async () => {
  const { kernel } = fakeKernel({ fail: (s) => (s.op === 'link.add' && s.kind === 'bridge' ? 'EEXIST' : undefined) });
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.join(A, endpoint(1, A, '10.9.1.2'), '/run/x/ns1', { defaultRoute: true });
  assert.equal(driver.isRealized(A.id), true);
});

test('the predefined default bridge is realized at create, as docker0 is', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const D = network(9, '172.17.0.0/16', { predefined: true, name: 'bridge', options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'docker0' } });
  D.driverState = await driver.prepareNetwork(D, []);
  await driver.createNetwork(D);
  const plans = networkPlans(calls);
  assert.equal(plans.length, 1);
  assert.ok(plans[0]!.steps.some((s) => s.op === 'link.add' && s.name === 'docker0' && s.kind === 'bridge'));
  assert.match(nftText(plans[0]!), /bridges \{ "docker0" \}/);
  assert.equal(driver.isRealized(D.id), true);
});

test('restore realizes networks with endpoints or a bridge in the kernel, and leaves the others alone', async () => {
  const A = network(1, '10.9.1.0/24'); // has an endpoint
  const B = network(2, '10.9.2.0/24'); // bridge found in the kernel (realized before the restart)
  const C = network(3, '10.9.3.0/24'); // never joined
  const probe = new BridgeDriver({ kernel: fakeKernel().kernel });
  A.driverState = await probe.prepareNetwork(A, []);
  B.driverState = await probe.prepareNetwork(B, [A]);
  C.driverState = await probe.prepareNetwork(C, [A, B]);
  const brA = A.driverState.bridgeName;
  const brB = B.driverState.bridgeName;
  const brC = C.driverState.bridgeName;
  const e1 = endpoint(1, A, '10.9.1.2');
  const link = (name: string, kind: string, master?: string) => ({ name, index: 0, kind, master, mtu: 1500, mac: '', up: true });
  const { kernel, calls } = fakeKernel({ links: [link(brB, 'bridge'), link(e1.hostIfname, 'veth', brA), link('br-0123456789ab', 'bridge'), link('veth0abcdef', 'veth')] });
  const driver = new BridgeDriver({ kernel });
  await driver.restore([A, B, C], new Map([[A.id, [{ ep: e1, netnsPath: '/run/x/ns1' }]], [B.id, []], [C.id, []]]));
  const nft = calls.map(nftText).join('');
  assert.match(nft, new RegExp(`bridges \\{ "${brA}" \\}`));
  assert.match(nft, new RegExp(`bridges \\{ "${brB}" \\}`));
  assert.doesNotMatch(nft, new RegExp(brC));
  const steps = calls.flatMap((c) => c.steps);
  const has = (pred: (s: (typeof steps)[number]) => boolean) => steps.some(pred);
  assert.ok(has((s) => s.op === 'link.add' && s.name === brA), 'missing bridge of a joined network re-created');
  assert.ok(!has((s) => s.op === 'link.add' && s.name === brB), 'existing bridge only re-asserted');
  assert.ok(has((s) => s.op === 'link.set' && s.name === brB && s.mac !== undefined));
  assert.ok(has((s) => s.op === 'link.set' && s.name === e1.hostIfname && s.master === brA), 'surviving veth re-enslaved');
  assert.ok(has((s) => s.op === 'link.del' && s.name === 'br-0123456789ab') && has((s) => s.op === 'link.del' && s.name === 'veth0abcdef'), 'orphans deleted');
  assert.ok(!has((s) => 'name' in s && s.name === brC));
  assert.equal(driver.isRealized(A.id), true);
  assert.equal(driver.isRealized(B.id), true);
  assert.equal(driver.isRealized(C.id), false);

  // C is realized by its first join; B (realized before the restart) is deleted for real.
  calls.length = 0;
  await driver.join(C, endpoint(3, C, '10.9.3.2'), '/run/x/ns3', { defaultRoute: true });
  assert.ok(networkPlans(calls)[0]!.steps[0]!.op === 'link.add');
  calls.length = 0;
  await driver.deleteNetwork(B);
  assert.ok(calls.some((c) => c.steps.some((s) => s.op === 'link.del' && s.name === brB)));
});
