import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { BatchFailure } from '../../src/kernel/batch.js';
import { BridgeDriver } from '../../src/drivers/bridge/bridge.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';

// The bridge driver is lazy: createNetwork touches no kernel object, the first join creates the
// bridge inside its existing host batch and the set elements inside one nft batch, deleteNetwork
// of a never-joined network does nothing. A fake kernel records every spawn.

interface Call {
  kind: 'ip' | 'nft' | 'other';
  netns?: string;
  text: string;
}

function fakeKernel(opts: { links?: { ifname: string; linkinfo?: { info_kind?: string }; master?: string }[]; ipFail?: (lines: string[]) => BatchFailure[] } = {}) {
  const calls: Call[] = [];
  const kernel = {
    async ipBatch(lines: string[], o: { netns?: string; force?: boolean } = {}): Promise<BatchFailure[]> {
      if (!lines.length) return [];
      calls.push({ kind: 'ip', netns: o.netns, text: lines.join('\n') });
      await new Promise((r) => setTimeout(r, 1));
      return opts.ipFail?.(lines) ?? [];
    },
    async nftApply(script: string): Promise<void> {
      calls.push({ kind: 'nft', text: script });
    },
    async nftJson(): Promise<unknown[]> {
      calls.push({ kind: 'other', text: 'nft -j list set' });
      return [];
    },
    async sysctls(): Promise<void> {
      calls.push({ kind: 'other', text: 'sysctl' });
    },
    async ipJson(args: string[]): Promise<unknown> {
      calls.push({ kind: 'other', text: `ip -j ${args.join(' ')}` });
      return args.includes('route') ? [] : (opts.links ?? []);
    },
    async netnsExists(): Promise<boolean> {
      return true;
    },
  };
  return { kernel: kernel as unknown as Kernel, calls };
}


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

const spawns = (calls: Call[]) => calls.filter((c) => c.kind !== 'other');

test('createNetwork and deleteNetwork of an unused network spawn nothing', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  await driver.deleteNetwork(A);
  assert.equal(calls.length, 0);
  assert.equal(driver.isRealized(A.id), false);
});

test('the first join realizes the network in its own batches; later joins add nothing', async () => {
  const { kernel, calls } = fakeKernel();
  const realized: string[] = [];
  const driver = new BridgeDriver({ kernel });
  driver.onRealized((n) => realized.push(n.name));
  const A = network(1, '10.9.1.0/24', { internal: true, options: { 'com.docker.network.bridge.enable_icc': 'true' } });
  A.driverState = await driver.prepareNetwork(A, []);
  const br = A.driverState.bridgeName;
  await driver.createNetwork(A);
  assert.equal(calls.length, 0);

  await driver.join(A, endpoint(1, A, '10.9.1.2'), '/run/x/ns1', { defaultRoute: true });
  const first = spawns(calls);
  assert.equal(first.length, 3, 'host ip batch + nft batch + sandbox ip batch');
  const host = first.find((c) => c.kind === 'ip' && !c.netns)!;
  assert.match(host.text, new RegExp(`^link add ${br} type bridge\n`), 'bridge lines head the host batch');
  assert.match(host.text, /addr replace 10\.9\.1\.1\/24 brd \+ dev /);
  assert.match(host.text, /link add veth0001eee .* type veth/);
  const nft = first.find((c) => c.kind === 'nft')!;
  assert.match(nft.text, new RegExp(`add element inet weft bridges \\{ "${br}" \\}`));
  assert.match(nft.text, new RegExp(`add element inet weft icc \\{ "${br}" \\. "${br}" \\}`));
  assert.match(nft.text, new RegExp(`add element inet weft internal \\{ "${br}" \\}`));
  assert.doesNotMatch(nft.text, /masq4/, 'internal networks are not masqueraded');
  assert.deepEqual(realized, ['net1']);
  assert.equal(driver.isRealized(A.id), true);

  calls.length = 0;
  await driver.join(A, endpoint(2, A, '10.9.1.3'), '/run/x/ns2', { defaultRoute: true });
  assert.equal(spawns(calls).length, 2, 'host + sandbox only');
  assert.doesNotMatch(calls[0].text, /type bridge/);
  assert.deepEqual(realized, ['net1'], 'announced once');

  calls.length = 0;
  await driver.deleteNetwork(A);
  assert.equal(calls.filter((c) => c.kind === 'ip' && c.text === `link del ${br}`).length, 1);
  assert.equal(calls.filter((c) => c.kind === 'nft' && /delete element inet weft bridges/.test(c.text)).length, 1);
  assert.equal(driver.isRealized(A.id), false);
});

test('published ports and masquerade go in the same nft batch as the realization', async () => {
  const { kernel, calls } = fakeKernel();
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  const ep = endpoint(1, A, '10.9.1.2', [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }] as EndpointRecord['ports']);
  await driver.join(A, ep, '/run/x/ns1', { defaultRoute: true });
  const nft = spawns(calls).filter((c) => c.kind === 'nft');
  assert.equal(nft.length, 1, 'no extra spawn when the endpoint publishes ports');
  assert.match(nft[0].text, /add element inet weft masq4 \{ 10\.9\.1\.0\/24 \}/);
  assert.match(nft[0].text, /add element inet weft pub4 \{ tcp \. 8080 : 10\.9\.1\.2 \. 80 \}/);
  assert.equal(spawns(calls).length, 3);
});

test('concurrent first joins realize the network once', async () => {
  const { kernel, calls } = fakeKernel();
  let announced = 0;
  const driver = new BridgeDriver({ kernel, onRealized: () => announced++ });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await driver.createNetwork(A);
  await Promise.all([1, 2, 3].map((i) => driver.join(A, endpoint(i, A, `10.9.1.${i + 1}`), `/run/x/ns${i}`, { defaultRoute: true })));
  assert.equal(calls.filter((c) => /type bridge/.test(c.text)).length, 1);
  assert.equal(calls.filter((c) => /add element inet weft bridges/.test(c.text)).length, 1);
  assert.equal(announced, 1);
});

test('a failed realization is retried by the next join; delete cleans even a failed one', async () => {
  let fail = true;
  const { kernel, calls } = fakeKernel({
    ipFail: (lines) => (fail && /type bridge/.test(lines[0]) ? [{ line: 2, command: lines[1], error: 'RTNETLINK answers: Invalid argument' }] : []),
  });
  const driver = new BridgeDriver({ kernel });
  const A = network(1, '10.9.1.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  await assert.rejects(driver.join(A, endpoint(1, A, '10.9.1.2'), '/run/x/ns1', { defaultRoute: true }), /Invalid argument/);
  assert.equal(driver.isRealized(A.id), false);
  calls.length = 0;
  await driver.deleteNetwork(A); // the half-made bridge must not leak
  assert.ok(calls.some((c) => c.kind === 'ip' && c.text === `link del ${A.driverState.bridgeName}`));
  await assert.rejects(driver.join(A, endpoint(1, A, '10.9.1.2'), '/run/x/ns1', { defaultRoute: true }), /Invalid argument/);
  fail = false;
  calls.length = 0;
  await driver.join(A, endpoint(1, A, '10.9.1.2'), '/run/x/ns1', { defaultRoute: true });
  assert.match(calls.find((c) => c.kind === 'ip')!.text, /type bridge/, 'realized again');
  assert.equal(driver.isRealized(A.id), true);
});

test('an existing bridge ("File exists" on line 1) does not fail the realizing join', async () => {
  const { kernel } = fakeKernel({ ipFail: (lines) => (/type bridge/.test(lines[0]) ? [{ line: 1, command: lines[0], error: 'RTNETLINK answers: File exists' }] : []) });
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
  assert.ok(calls.some((c) => c.kind === 'ip' && /link add docker0 type bridge/.test(c.text)));
  assert.ok(calls.some((c) => c.kind === 'nft' && /bridges \{ "docker0" \}/.test(c.text)));
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
  const { kernel, calls } = fakeKernel({
    links: [
      { ifname: brB, linkinfo: { info_kind: 'bridge' } },
      { ifname: e1.hostIfname, linkinfo: { info_kind: 'veth' }, master: brA },
    ],
  });
  const driver = new BridgeDriver({ kernel });
  await driver.restore([A, B, C], new Map([[A.id, [{ ep: e1, netnsPath: '/run/x/ns1' }]], [B.id, []], [C.id, []]]));
  const nft = calls.find((c) => c.kind === 'nft')!.text;
  assert.match(nft, new RegExp(`bridges \\{ "${brA}" \\}`));
  assert.match(nft, new RegExp(`bridges \\{ "${brB}" \\}`));
  assert.doesNotMatch(nft, new RegExp(brC));
  const ip = calls.filter((c) => c.kind === 'ip').map((c) => c.text).join('\n');
  assert.match(ip, new RegExp(`link add ${brA} type bridge`), 'missing bridge of a joined network re-created');
  assert.doesNotMatch(ip, new RegExp(`link add ${brB} `), 'existing bridge only re-asserted');
  assert.match(ip, new RegExp(`link set ${brB} address`));
  assert.doesNotMatch(ip, new RegExp(brC));
  assert.equal(driver.isRealized(A.id), true);
  assert.equal(driver.isRealized(B.id), true);
  assert.equal(driver.isRealized(C.id), false);

  // C is realized by its first join; B (realized before the restart) is deleted for real.
  calls.length = 0;
  await driver.join(C, endpoint(3, C, '10.9.3.2'), '/run/x/ns3', { defaultRoute: true });
  assert.match(calls.find((c) => c.kind === 'ip')!.text, new RegExp(`^link add ${brC} type bridge`));
  calls.length = 0;
  await driver.deleteNetwork(B);
  assert.ok(calls.some((c) => c.kind === 'ip' && c.text === `link del ${brB}`));
});
