import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';
import { createKernel, KERNEL_BACKENDS, type KernelBackend } from '../../src/kernel/index.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { MacvlanDriver } from '../../src/drivers/macvlan/macvlan.js';
import { kernelHasModule } from '../../src/drivers/macvlan/unsupported.js';
import { macFromIPv4 } from '../../src/common/mac.js';
import { networkRecord } from '../helpers/records.js';

// The macvlan driver against the kernel, without a daemon: a "daemon" namespace holding the
// parent phy0 (a veth whose peer is in a second namespace, "another host" on the segment), and
// sandboxes joined to it. Also measures join.

const pingCmd = spawnSync('ping', ['-V']).error ? ['busybox', 'ping'] : ['ping'];
const ID = '5eed0000abcd'.padEnd(64, '7');

function network(options: Record<string, string>, aux: Record<string, string> = {}): NetworkRecord {
  return networkRecord({
    id: ID,
    name: 'mv',
    driver: 'macvlan',
    ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1', AuxiliaryAddresses: aux }] },
    options,
  });
}

function endpoint(n: number, ip: string): EndpointRecord {
  return {
    id: String(n).padStart(4, '0').padEnd(64, 'e'),
    networkId: ID,
    containerId: String(n).padStart(4, '0').padEnd(64, 'c'),
    ifname: 'eth0',
    hostIfname: '',
    ipv4: `${ip}/24`,
    ipv6: '',
    gateway4: '10.77.0.1',
    gateway6: '',
    mac: macFromIPv4(ip),
    aliases: [],
    requestedIpv4: '',
    requestedIpv6: '',
  };
}

const pings = (ns: TestNetns, ip: string) => spawnSync('nsenter', [`--net=${ns.path}`, ...pingCmd, '-c', '1', '-W', '1', ip]).status === 0;

function segment(t: { after: (fn: () => Promise<void>) => void }, backend: KernelBackend) {
  const daemon = createTestNetns('wmd');
  const other = createTestNetns('wmo');
  const kernel = createKernel({ backend, netns: daemon.path });
  t.after(async () => {
    await kernel.close();
    daemon.destroy();
    other.destroy();
  });
  daemon.run('ip', ['link', 'add', 'phy0', 'type', 'veth', 'peer', 'name', 'peer0']);
  daemon.run('ip', ['link', 'set', 'peer0', 'netns', other.path]);
  daemon.run('ip', ['link', 'set', 'phy0', 'up']);
  other.run('ip', ['addr', 'add', '10.77.0.100/24', 'dev', 'peer0']);
  other.run('ip', ['link', 'set', 'peer0', 'up']);
  return { daemon, other, kernel };
}

for (const backend of KERNEL_BACKENDS) test(`macvlan driver (${backend}): join/leave, traffic on the segment, shim, restore; join timing`, { timeout: 60_000 }, async (t) => {
  const { daemon, other, kernel } = segment(t, backend);
  const driver = new MacvlanDriver({ kernel });
  const net = network({ parent: 'phy0', 'weft.macvlan.host_shim': '10.77.0.250/24' }, { host: '10.77.0.250' });
  net.driverState = await driver.prepareNetwork(net, []);
  await driver.createNetwork(net);
  const shim = net.driverState.shimName!;
  assert.match(daemon.run('ip', ['-d', 'link', 'show', shim]), /macvlan mode bridge/);

  const sandboxes: TestNetns[] = [];
  t.after(() => sandboxes.forEach((s) => s.destroy()));
  const eps: EndpointRecord[] = [];
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = createTestNetns('wms');
    sandboxes.push(s);
    const ep = endpoint(i, `10.77.0.${i + 2}`);
    eps.push(ep);
    const t0 = performance.now();
    await driver.join(net, ep, s.path, { defaultRoute: true });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  t.diagnostic(`macvlan join (${backend}): median ${times[5]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times[9]!.toFixed(1)} ms over 10`);

  const [s1, s2] = sandboxes as [TestNetns, TestNetns];
  const link = s1.run('ip', ['-d', 'link', 'show', 'eth0']);
  assert.match(link, /macvlan mode bridge/);
  assert.match(link, /02:42:0a:4d:00:02/);
  assert.match(s1.run('ip', ['route', 'show', 'default']), /default via 10\.77\.0\.1 dev eth0/);
  assert.ok(pings(s1, '10.77.0.3'), 'container to container');
  assert.ok(pings(s2, '10.77.0.100'), 'container to the other host');
  assert.ok(pings(other, '10.77.0.2'), 'other host to container');
  assert.ok(pings(daemon, '10.77.0.2'), 'daemon namespace to container through the shim');

  // Restore: a lost shim comes back; a lost sub-interface is joined again.
  daemon.run('ip', ['link', 'del', shim]);
  s2.run('ip', ['link', 'del', 'eth0']);
  daemon.run('ip', ['link', 'add', 'link', 'phy0', 'name', 'mvs-0123456789a', 'type', 'macvlan']); // an orphan shim
  const eps2 = new Map([[ID, eps.slice(0, 2).map((ep, i) => ({ ep, netnsPath: sandboxes[i]!.path }))]]);
  await driver.restore([net], eps2);
  assert.match(daemon.run('ip', ['-br', 'link']), new RegExp(shim));
  assert.doesNotMatch(daemon.run('ip', ['-br', 'link']), /mvs-0123456789a/);
  assert.ok(pings(daemon, '10.77.0.3'), 'restored shim and endpoint');

  for (let i = 0; i < eps.length; i++) await driver.leave(net, eps[i]!, sandboxes[i]!.path);
  assert.doesNotMatch(s1.run('ip', ['link']), /eth0/);
  await driver.leave(net, eps[0]!, '/run/netns/does-not-exist'); // sandbox gone: fine
  await driver.deleteNetwork(net);
  assert.doesNotMatch(daemon.run('ip', ['-br', 'link']), /mvs-/);
  assert.match(daemon.run('ip', ['-br', 'link']), /phy0/, 'the parent is the user\'s: kept');
});

for (const backend of KERNEL_BACKENDS) test(`macvlan driver (${backend}): VLAN parent on a kernel without 8021q fails leaving nothing`, { timeout: 30_000 }, async (t) => {
  const { daemon, kernel } = segment(t, backend);
  const driver = new MacvlanDriver({ kernel });
  const net = network({ parent: 'phy0.50' });
  net.driverState = await driver.prepareNetwork(net, []);
  const before = daemon.run('ip', ['-br', 'link']);
  const vlanWorks = spawnSync('nsenter', [`--net=${daemon.path}`, 'ip', 'link', 'add', 'link', 'phy0', 'name', 'probe.7', 'type', 'vlan', 'id', '7']).status === 0;
  if (vlanWorks) {
    daemon.run('ip', ['link', 'del', 'probe.7']);
    await driver.createNetwork(net);
    assert.match(daemon.run('ip', ['-d', 'link', 'show', 'phy0.50']), /vlan protocol 802.1Q id 50/);
    await driver.deleteNetwork(net);
  } else {
    await assert.rejects(driver.createNetwork(net), /this kernel lacks the '8021q' module/);
  }
  assert.equal(daemon.run('ip', ['-br', 'link']), before);
});

test('ipvlan: kernelHasModule agrees with the kernel', (t) => {
  const ns = createTestNetns('wmi');
  t.after(() => ns.destroy());
  ns.run('ip', ['link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
  const works = spawnSync('nsenter', [`--net=${ns.path}`, 'ip', 'link', 'add', 'link', 'p0', 'name', 'i0', 'type', 'ipvlan', 'mode', 'l2']).status === 0;
  t.diagnostic(`ipvlan on this kernel: ${works ? 'available' : 'missing'}`);
  assert.equal(kernelHasModule('ipvlan'), works);
});
