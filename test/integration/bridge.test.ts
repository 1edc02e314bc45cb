import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns } from '../helpers/netns.js';
import { createKernel, KERNEL_BACKENDS } from '../../src/kernel/index.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { BridgeDriver } from '../../src/drivers/bridge/bridge.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';

// Two networks A and B in a throwaway namespace, three sandboxes:
//   s1: A (eth0, default route)   s2: A (eth0) + B (eth1)   s3: B (eth0)


function network(n: number, subnet: string, options: Record<string, string> = {}): NetworkRecord {
  const base = networkRecord({
    id: testId(n, 'a'),
    name: `net${n}`,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/\d+$/, '1') }] },
    options,
  });
  return base as NetworkRecord;
}

function endpoint(n: number, net: NetworkRecord, ifname: string, ip: string): EndpointRecord {
  return endpointRecord(n, net, ip, { ifname });
}

const pingCmd = spawnSync('ping', ['-V']).error ? ['busybox', 'ping'] : ['ping'];
function ping(netns: string, ip: string): boolean {
  const r = spawnSync('nsenter', [`--net=${netns}`, ...pingCmd, '-c1', '-W1', ip], { encoding: 'utf8' });
  return r.status === 0;
}

function weftLinks(nsPath: string): string[] {
  const out = execFileSync('nsenter', [`--net=${nsPath}`, 'ip', '-j', '-d', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as { ifname: string; linkinfo?: { info_kind?: string } }[])
    .filter((l) => ['bridge', 'veth'].includes(l.linkinfo?.info_kind ?? ''))
    .map((l) => l.ifname);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const backend of KERNEL_BACKENDS) test(`bridge driver (${backend}): connectivity, isolation, restore, teardown`, async (t) => {
  const ns = createTestNetns('wb');
  const dir = mkdtempSync(join(tmpdir(), 'weft-bridge-'));
  const kernel = createKernel({ backend, netns: ns.path });
  const driver = new BridgeDriver({ kernel });
  const sb = { s1: join(dir, 's1'), s2: join(dir, 's2'), s3: join(dir, 's3') };
  let destroyed = false;
  t.after(async () => {
    for (const p of Object.values(sb)) await kernel.deleteNetns(p).catch(() => undefined);
    await kernel.close();
    if (!destroyed) ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const A = network(1, '10.231.1.0/24');
  const B = network(2, '10.231.2.0/24');
  A.driverState = await driver.prepareNetwork(A, []);
  B.driverState = await driver.prepareNetwork(B, [A]);
  await driver.createNetwork(A);
  await driver.createNetwork(B);
  await driver.createNetwork(B); // idempotent

  for (const p of Object.values(sb)) await kernel.createNetns(p);
  const e1 = endpoint(1, A, 'eth0', '10.231.1.2');
  const e2 = endpoint(2, A, 'eth0', '10.231.1.3');
  const e3 = endpoint(3, B, 'eth0', '10.231.2.2');
  const e2b = endpoint(4, B, 'eth1', '10.231.2.3');
  await driver.join(A, e1, sb.s1, { defaultRoute: true });
  await driver.join(A, e2, sb.s2, { defaultRoute: true });
  await driver.join(B, e3, sb.s3, { defaultRoute: true });
  await driver.join(B, e2b, sb.s2, { defaultRoute: false });

  await t.test('addresses, MAC and routes inside the sandbox', () => {
    const addr = JSON.parse(execFileSync('nsenter', [`--net=${sb.s2}`, 'ip', '-j', 'addr', 'show', 'eth1'], { encoding: 'utf8' }))[0];
    assert.equal(addr.address, '02:42:0a:e7:02:03');
    assert.ok(addr.addr_info.some((a: { local: string }) => a.local === '10.231.2.3'));
    const routes = execFileSync('nsenter', [`--net=${sb.s2}`, 'ip', 'route', 'show', 'default'], { encoding: 'utf8' });
    assert.match(routes, /default via 10\.231\.1\.1 dev eth0/);
    assert.doesNotMatch(routes, /eth1/);
  });

  await t.test('same network talks, networks are isolated', () => {
    assert.ok(ping(sb.s1, '10.231.1.3'), 's1 -> s2 on A');
    assert.ok(ping(sb.s2, '10.231.1.2'), 's2 -> s1 on A');
    assert.ok(ping(sb.s2, '10.231.2.2'), 's2 -> s3 on B');
    assert.ok(ping(sb.s1, '10.231.1.1'), 's1 -> its gateway');
    assert.ok(!ping(sb.s1, '10.231.2.2'), 's1 -> s3 must be blocked');
  });

  await t.test('it is nft that blocks A -> B (weft-user can open it)', async () => {
    const brA = A.driverState.bridgeName;
    const brB = B.driverState.bridgeName;
    await kernel.nftApply(`add rule inet weft weft-user iifname "${brA}" oifname "${brB}" accept\nadd rule inet weft weft-user iifname "${brB}" oifname "${brA}" accept\n`);
    assert.ok(ping(sb.s1, '10.231.2.2'), 'routed once weft-user allows it');
    await kernel.nftApply('flush chain inet weft weft-user\n');
    assert.ok(!ping(sb.s1, '10.231.2.2'));
  });

  await t.test('outbound traffic is masqueraded; internal networks stay inside', async () => {
    // An "outside" namespace that has no route back to container subnets: replies only come
    // back if the source was rewritten to the uplink address.
    const out = join(dir, 'outside');
    await kernel.createNetns(out);
    await kernel.apply([
      { op: 'link.add', name: 'up0', kind: 'veth', peer: { name: 'up1', netns: out } },
      { op: 'addr.add', dev: 'up0', cidr: '192.0.2.1/24' },
      { op: 'link.set', name: 'up0', up: true },
      { op: 'addr.add', ns: out, dev: 'up1', cidr: '192.0.2.2/24' },
      { op: 'link.set', ns: out, name: 'up1', up: true },
    ]);
    assert.ok(ping(sb.s1, '192.0.2.2'), 's1 reaches the outside');

    const D = network(4, '10.231.4.0/24');
    D.internal = true;
    D.driverState = await driver.prepareNetwork(D, [A, B]);
    await driver.createNetwork(D);
    const sd = join(dir, 'sd');
    await kernel.createNetns(sd);
    const d1 = endpoint(7, D, 'eth0', '10.231.4.2');
    await driver.join(D, d1, sd, { defaultRoute: true });
    await driver.join(A, endpoint(8, A, 'eth1', '10.231.1.9'), sd, { defaultRoute: false });
    assert.ok(ping(sd, '10.231.1.2'), 'its other network works');
    // give the outside a way back, so only nft can stop sd (internal networks are not masqueraded)
    await kernel.apply([{ op: 'route.add', ns: out, dst: '10.231.0.0/16', via: '192.0.2.1' }]);
    assert.ok(!ping(sd, '192.0.2.2'), 'nothing leaves an internal network');
    const brD = D.driverState.bridgeName;
    await kernel.nftApply(`delete element inet weft internal { "${brD}" }\n`);
    assert.ok(ping(sd, '192.0.2.2'), 'control: it is the internal set that blocks');
    await kernel.nftApply(`add element inet weft internal { "${brD}" }\n`);
    await driver.leave(D, d1, sd);
    await driver.leave(A, endpoint(8, A, 'eth1', '10.231.1.9'), sd);
    await driver.deleteNetwork(D);
    await kernel.deleteNetns(sd);
    await kernel.apply([{ op: 'link.del', name: 'up0' }]);
    await kernel.deleteNetns(out);
  });

  await t.test('restore brings back a deleted bridge and veth, removes orphans', async () => {
    ns.run('ip', ['link', 'del', A.driverState.bridgeName]);
    ns.run('ip', ['link', 'del', e3.hostIfname]);
    ns.run('ip', ['link', 'add', 'br-0123456789ab', 'type', 'bridge']);
    ns.run('ip', ['link', 'add', 'veth0abcdef', 'type', 'veth', 'peer', 'name', 'vethpeer']);
    ns.run('nft', ['flush', 'set', 'inet', 'weft', 'icc']);
    const eps = new Map([
      [A.id, [{ ep: e1, netnsPath: sb.s1 }, { ep: e2, netnsPath: sb.s2 }]],
      [B.id, [{ ep: e3, netnsPath: sb.s3 }, { ep: e2b, netnsPath: sb.s2 }]],
    ]);
    await driver.restore([A, B], eps);
    const links = weftLinks(ns.path);
    assert.ok(links.includes(A.driverState.bridgeName));
    assert.ok(links.includes(e3.hostIfname));
    assert.ok(!links.includes('br-0123456789ab'));
    assert.ok(!links.includes('veth0abcdef'));
    assert.ok(ping(sb.s1, '10.231.1.3'), 's1 -> s2 after restore');
    assert.ok(ping(sb.s2, '10.231.2.2'), 's2 -> s3 after restore');
    assert.ok(ping(sb.s3, '10.231.2.1'), 's3 got its default route back');
    assert.ok(!ping(sb.s1, '10.231.2.2'), 'still isolated');
  });

  await t.test('icc=false blocks containers of one network', async () => {
    const C = network(3, '10.231.3.0/24', { 'com.docker.network.bridge.enable_icc': 'false' });
    C.driverState = await driver.prepareNetwork(C, [A, B]);
    await driver.createNetwork(C);
    const c1 = endpoint(5, C, 'eth2', '10.231.3.2');
    const c2 = endpoint(6, C, 'eth1', '10.231.3.3');
    await driver.join(C, c1, sb.s1, { defaultRoute: false });
    await driver.join(C, c2, sb.s3, { defaultRoute: false });
    assert.ok(ping(sb.s1, '10.231.3.1'), 'gateway reachable');
    assert.ok(!ping(sb.s1, '10.231.3.3'), 'icc off');
    await driver.leave(C, c1, sb.s1);
    await driver.leave(C, c2, sb.s3);
    await driver.deleteNetwork(C);
  });

  await t.test('leave and delete everything', async () => {
    await driver.leave(A, e1, sb.s1);
    await driver.leave(A, e2, sb.s2);
    await driver.leave(B, e3, sb.s3);
    await driver.leave(B, e2b, sb.s2);
    await driver.leave(B, e2b, sb.s2); // already gone
    await driver.deleteNetwork(A);
    await driver.deleteNetwork(B);
    await driver.deleteNetwork(B); // already gone
    assert.deepEqual(weftLinks(ns.path), []);
    const sets = ns.run('nft', ['list', 'set', 'inet', 'weft', 'bridges']);
    assert.doesNotMatch(sets, /elements/);
    for (const p of Object.values(sb)) await kernel.deleteNetns(p);
  });

  await t.test('timings (median of 20)', async () => {
    const create: number[] = [];
    const join_: number[] = [];
    const leave: number[] = [];
    const del: number[] = [];
    const p = join(dir, 'bench');
    await kernel.createNetns(p);
    for (let i = 0; i < 20; i++) {
      const N = network(100 + i, `10.232.${i}.0/24`);
      N.driverState = await driver.prepareNetwork(N, []);
      let t0 = performance.now();
      await driver.createNetwork(N);
      create.push(performance.now() - t0);
      const ep = endpoint(100 + i, N, 'eth0', `10.232.${i}.2`);
      t0 = performance.now();
      await driver.join(N, ep, p, { defaultRoute: true });
      join_.push(performance.now() - t0);
      t0 = performance.now();
      await driver.leave(N, ep, p);
      leave.push(performance.now() - t0);
      t0 = performance.now();
      await driver.deleteNetwork(N);
      del.push(performance.now() - t0);
    }
    await kernel.deleteNetns(p);
    const fmt = (xs: number[]) => median(xs).toFixed(1);
    // leave and deleteNetwork are dominated by the kernel's device unregistration (RCU grace
    // periods: ~20 ms per veth, ~40 ms per bridge, measured with plain `ip link del` too).
    t.diagnostic(`createNetwork ${fmt(create)} ms, join ${fmt(join_)} ms, leave ${fmt(leave)} ms, deleteNetwork ${fmt(del)} ms`);
  });

  await t.test('the test namespace goes away with its table', () => {
    const name = ns.name;
    ns.destroy();
    destroyed = true;
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(name));
  });
});
