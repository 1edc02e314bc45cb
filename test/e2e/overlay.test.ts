import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon } from '../helpers/daemons.js';
import { startSwarmLab, waitFor, type SwarmLab } from '../helpers/swarm-lab.js';

// Overlay networks across hosts (namespaces on a test underlay, one weftd each), with the real
// docker CLI: Docker's tutorial "Use an overlay network for standalone containers" step by step
// (docs.docker.com/network/network-tutorial-overlay), then the refusals, concurrent runs on three
// hosts never sharing an address, and a host that leaves having its endpoints removed elsewhere.

let lab: SwarmLab;
let d1: Daemon, d2: Daemon, d3: Daemon;

before(async () => {
  lab = await startSwarmLab(3, process.env.WEFT_OVERLAY_BACKEND ? { args: () => ['--kernel-backend', process.env.WEFT_OVERLAY_BACKEND!] } : {});
  [d1, d2, d3] = lab.daemons;
});
after(() => lab.stop());

const addr = (i: number) => lab.hosts[i - 1].addr;
const inspectIp = async (d: Daemon, name: string, net: string) => (await d.dockerOk(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name])).trim();

test('without a swarm, -d overlay is refused with Docker\'s message', async () => {
  const r = await d1.docker(['network', 'create', '-d', 'overlay', 'ov0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
});

test('tutorial: init, join, create --attachable, a container on each host, ping by name both ways', async () => {
  // Step 1: a swarm of host1 (manager) and host2 (worker).
  await d1.dockerOk(['swarm', 'init', '--advertise-addr', addr(1)]);
  const token = await d1.dockerOk(['swarm', 'join-token', '-q', 'worker']);
  await d2.dockerOk(['swarm', 'join', '--token', token, `${addr(1)}:2377`]);
  // swarm init made ingress (overlay, scope swarm) and docker_gwbridge; join made docker_gwbridge.
  const nets1 = await d1.dockerOk(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  assert.match(nets1, /^ingress overlay swarm$/m);
  assert.match(nets1, /^docker_gwbridge bridge local$/m);
  assert.match(await d2.dockerOk(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']), /^docker_gwbridge bridge local$/m);
  // Step 2: an attachable overlay, made on the manager.
  await d1.dockerOk(['network', 'create', '--driver=overlay', '--attachable', 'test-net']);
  const ins = JSON.parse(await d1.dockerOk(['network', 'inspect', 'test-net']))[0];
  assert.equal(ins.Driver, 'overlay');
  assert.equal(ins.Scope, 'swarm');
  assert.equal(ins.Attachable, true);
  assert.match(ins.IPAM.Config[0].Subnet, /^10\.0\.\d+\.0\/24$/);
  // A worker cannot make one (Docker's text).
  const w = await d2.docker(['network', 'create', '-d', 'overlay', 'nope']);
  assert.match(w.stderr, /Cannot create a multi-host network from a worker node/);
  // Step 3: a container on each host.
  await d1.dockerOk(['run', '-d', '--name', 'alpine1', '--network', 'test-net', 'alpine', 'sleep', '600']);
  await waitFor('test-net on host2', async () => (await d2.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('test-net'), 10_000);
  await d2.dockerOk(['run', '-d', '--name', 'alpine2', '--network', 'test-net', 'alpine', 'sleep', '600']);
  const ip1 = await inspectIp(d1, 'alpine1', 'test-net');
  const ip2 = await inspectIp(d2, 'alpine2', 'test-net');
  assert.notEqual(ip1, ip2);
  // Docker's layout: eth0 on the overlay (MTU 1450), eth1 on docker_gwbridge with the default route.
  const links = await d1.dockerOk(['exec', 'alpine1', 'ip', '-o', 'link']);
  assert.match(links, /eth0@\S+ .*mtu 1450/);
  assert.match(links, /eth1@\S+ .*mtu 1500/);
  assert.match(await d1.dockerOk(['exec', 'alpine1', 'ip', 'route']), /^default via 172\.\d+\.0\.1 dev eth1/m);
  // Step 4: ping by name, both ways, across the VXLAN.
  const p12 = await d1.docker(['exec', 'alpine1', 'ping', '-c', '2', '-W', '2', 'alpine2']);
  assert.equal(p12.code, 0, p12.stdout + p12.stderr + d1.logTail(20));
  assert.match(p12.stdout, new RegExp(`PING alpine2 \\(${ip2.replace(/\./g, '\\.')}\\)`));
  const p21 = await d2.docker(['exec', 'alpine2', 'ping', '-c', '2', '-W', '2', 'alpine1']);
  assert.equal(p21.code, 0, p21.stdout + p21.stderr + d2.logTail(20));
  assert.match(p21.stdout, new RegExp(`PING alpine1 \\(${ip1.replace(/\./g, '\\.')}\\)`));
});

test('network rm is refused while another host has endpoints; -o encrypted names what the kernel lacks', async () => {
  const rm = await d1.docker(['network', 'rm', 'test-net']);
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /error while removing network: network test-net id [0-9a-f]{64} has active endpoints/);
  const enc = await d1.docker(['network', 'create', '-d', 'overlay', '--attachable', '-o', 'encrypted', 'secret']);
  assert.notEqual(enc.code, 0);
  assert.match(enc.stderr, /IPsec ESP/);
  assert.match(enc.stderr, /WireGuard/);
  const mtu = await d1.dockerOk(['network', 'create', '-d', 'overlay', '--attachable', '-o', 'com.docker.network.driver.mtu=1400', 'small']);
  assert.ok(mtu);
  await d1.dockerOk(['run', '-d', '--name', 'small1', '--network', 'small', 'alpine', 'sleep', '600']);
  assert.match(await d1.dockerOk(['exec', 'small1', 'ip', '-o', 'link', 'show', 'eth0']), /mtu 1400/);
  await d1.dockerOk(['rm', '-f', 'small1']);
  await d1.dockerOk(['network', 'rm', 'small']);
  // --subnet/--ip-range/--gateway and labels, from the shared address space.
  await d1.dockerOk(['network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.20.0.0/24', '--ip-range', '10.20.0.128/25', '--gateway', '10.20.0.1', '--label', 'team=a', 'ranged']);
  await d2.dockerOk(['run', '-d', '--name', 'r2', '--network', 'ranged', 'busybox', 'sleep', '600']);
  assert.equal(await inspectIp(d2, 'r2', 'ranged'), '10.20.0.128');
  assert.equal(await d2.dockerOk(['network', 'inspect', '-f', '{{index .Labels "team"}} {{(index .IPAM.Config 0).Gateway}}', 'ranged']), 'a 10.20.0.1');
  const clash = await d1.docker(['network', 'create', '-d', 'overlay', '--subnet', '10.20.0.0/16', 'clash']);
  assert.match(clash.stderr, /Pool overlaps with other one on this address space/);
  await d2.dockerOk(['rm', '-f', 'r2']);
  await d1.dockerOk(['network', 'rm', 'ranged']);
});

test('weftd killed and restarted on host2: its container keeps its overlay, and stays reachable past the old lease', async () => {
  await d2.kill9();
  await d2.restart();
  const ping = (d: Daemon, from: string, to: string) => d.docker(['exec', from, 'ping', '-c', '1', '-W', '2', to]);
  await waitFor('alpine1 reaches alpine2 after the restart', async () => (await ping(d1, 'alpine1', 'alpine2')).code === 0, 15_000);
  // The old run's lease (10 s) expires: the endpoint must have been published again on the new one.
  await new Promise((r) => setTimeout(r, 11_000));
  const r12 = await ping(d1, 'alpine1', 'alpine2');
  assert.equal(r12.code, 0, r12.stdout + r12.stderr + d2.logTail(20));
  const r21 = await ping(d2, 'alpine2', 'alpine1');
  assert.equal(r21.code, 0, r21.stdout + r21.stderr + d2.logTail(20));
  // A container restarted there comes back on its overlay and its way out.
  await d2.dockerOk(['restart', '-t', '0', 'alpine2']);
  await waitFor('alpine1 reaches the restarted alpine2', async () => (await ping(d1, 'alpine1', 'alpine2')).code === 0, 10_000);
  assert.match(await d2.dockerOk(['exec', 'alpine2', 'ip', 'route']), /^default via \S+ dev eth1/m);
  // A new container there gets an address nobody holds.
  await d2.dockerOk(['run', '-d', '--name', 'after', '--network', 'test-net', 'busybox', 'sleep', '600']);
  const ips = [await inspectIp(d1, 'alpine1', 'test-net'), await inspectIp(d2, 'alpine2', 'test-net'), await inspectIp(d2, 'after', 'test-net')];
  assert.equal(new Set(ips).size, 3, ips.join(' '));
  await d2.dockerOk(['rm', '-f', 'after']);
});

test('concurrent runs on three hosts never share an address', async () => {
  const token = await d1.dockerOk(['swarm', 'join-token', '-q', 'worker']);
  await d3.dockerOk(['swarm', 'join', '--token', token, `${addr(1)}:2377`]);
  await waitFor('test-net on host3', async () => (await d3.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('test-net'), 10_000);
  const hosts = [d1, d2, d3];
  const names = hosts.flatMap((d, h) => Array.from({ length: 4 }, (_, i) => ({ d, name: `c${h + 1}${i}` })));
  await Promise.all(names.map(({ d, name }) => d.dockerOk(['run', '-d', '--name', name, '--network', 'test-net', 'busybox', 'sleep', '600'])));
  const ips = await Promise.all(names.map(({ d, name }) => inspectIp(d, name, 'test-net')));
  const all = [...ips, await inspectIp(d1, 'alpine1', 'test-net'), await inspectIp(d2, 'alpine2', 'test-net')];
  assert.equal(new Set(all).size, all.length, `duplicate addresses: ${all.join(' ')}`);
  // Any host reaches a container of any other by name.
  const r = await d3.docker(['exec', 'c30', 'ping', '-c', '1', '-W', '2', 'c10']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const { d, name } of names) await d.dockerOk(['rm', '-f', name]);
});

test('a host cut off the underlay has its endpoints removed elsewhere, and published again when it is back', async () => {
  await d3.dockerOk(['run', '-d', '--name', 'far', '--network', 'test-net', 'busybox', 'sleep', '600']);
  const resolves = async () => (await d1.docker(['exec', 'alpine1', 'nslookup', 'far'])).code === 0;
  await waitFor('far resolvable from host1', resolves, 10_000);
  lab.ul.setLink(lab.hosts[2], false);
  try {
    await waitFor('far gone from host1 (node gone / lease)', async () => !(await resolves()), 30_000);
  } finally {
    lab.ul.setLink(lab.hosts[2], true);
  }
  await waitFor('far back on host1', resolves, 30_000);
  const r = await d1.docker(['exec', 'alpine1', 'ping', '-c', '1', '-W', '2', 'far']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await d3.dockerOk(['rm', '-f', 'far']);
});

test('a removed container goes from the other hosts; then network rm works and every host leaves', async () => {
  await d2.dockerOk(['rm', '-f', 'alpine2']);
  await waitFor('alpine2 gone from host1', async () => (await d1.docker(['exec', 'alpine1', 'nslookup', 'alpine2'])).code !== 0, 10_000);
  await d1.dockerOk(['rm', '-f', 'alpine1']);
  await d1.dockerOk(['network', 'rm', 'test-net']);
  // Leaving with a container still on an overlay: its overlay goes with the node's cluster state,
  // no namespace is left behind, and the others can remove the network at once.
  await d1.dockerOk(['network', 'create', '-d', 'overlay', '--attachable', 'left']);
  await waitFor('left on host3', async () => (await d3.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('left'), 10_000);
  await d3.dockerOk(['run', '-d', '--name', 'stay', '--network', 'left', 'busybox', 'sleep', '600']);
  assert.equal(readdirSync(join(d3.execRoot, 'overlay')).length, 1);
  await d3.dockerOk(['swarm', 'leave']);
  assert.deepEqual(readdirSync(join(d3.execRoot, 'overlay')), []);
  await waitFor('left removable on host1', async () => (await d1.docker(['network', 'rm', 'left'])).code === 0, 10_000);
  await d3.dockerOk(['rm', '-f', 'stay']);
  await d2.dockerOk(['swarm', 'leave']);
  await d1.dockerOk(['swarm', 'leave', '--force']);
  assert.doesNotMatch(await d1.dockerOk(['network', 'ls', '--format', '{{.Name}}']), /ingress|test-net/);
});
