import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPO_ROOT, startDaemon, weftdBuilt } from '../helpers/daemons.js';
import { relayBridge, relayHostEnd } from '../helpers/relay-driver.js';
import { HOST4, makeLab, runWeb, wgetFrom } from './ports-lab.js';

// A network driver the engine has never heard of (test/helpers/relay-driver.ts: its own bridge,
// its own nft table, interfaces moved into sandboxes by the shared plumbing), registered at run
// time through the DriverRegistry by a test entry point of weftd: the docker CLI creates its
// networks, runs and connects containers on them, publishes a port and resolves names, with no
// change to the engine. What each step did is checked in the kernel, not only in the API.

const RELAY_WEFTD = `${REPO_ROOT}dist/test/helpers/relay-weftd.js`;

for (const backend of ['agent', 'commands']) test(`a driver registered at run time gets networks, joins, published ports and DNS from its capabilities (${backend})`, { timeout: 240_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft', { main: RELAY_WEFTD, extraArgs: ['--kernel-backend', backend] });
  t.after(() => d.stop());
  const lab = await makeLab(d);
  t.after(() => lab.destroy());
  const ok = (args: string[]) => d.dockerOk(args);
  const inNs = async (cmd: string, args: string[]) => (await lab.host(cmd, args)).stdout;
  const exec = async (c: string, script: string) => (await d.docker(['exec', c, 'sh', '-c', script])).stdout.trim();

  const id = await ok(['network', 'create', '-d', 'relay', '--subnet', '10.77.0.0/24', 'rnet']);
  const net = JSON.parse(await ok(['network', 'inspect', 'rnet']))[0];
  assert.equal(net.Driver, 'relay');
  assert.equal(net.Scope, 'local');
  assert.equal(net.IPAM.Config[0].Subnet, '10.77.0.0/24', 'IPAM gave the pool (its gateway is on the driver\'s bridge, below): the capability said ipam');
  assert.match(await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), /^rnet relay$/m);
  assert.match(await ok(['info', '--format', '{{json .Plugins.Network}}']), /"relay"/, 'docker info lists it');
  assert.match(await inNs('ip', ['-o', 'addr', 'show', 'dev', relayBridge({ id })]), /inet 10\.77\.0\.1\/24/, 'the driver made its bridge');
  const refused = await d.docker(['network', 'create', '-d', 'relay', '-o', 'color=blue', 'rbad']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /relay network does not support driver options: color/);

  await runWeb(d, 'web', 'hello-relay', ['--network', 'rnet', '-p', '8091:80']);
  await ok(['run', '-dit', '--name', 'cli', '--network', 'rnet', 'alpine', 'ash']);
  const webIp = await ok(['inspect', '-f', '{{.NetworkSettings.Networks.rnet.IPAddress}}', 'web']);
  const webMac = await ok(['inspect', '-f', '{{.NetworkSettings.Networks.rnet.MacAddress}}', 'web']);
  assert.equal(webIp, '10.77.0.2');

  await t.test('the interface was moved in, renamed, given its MAC, address and default route', async () => {
    assert.match(await exec('web', 'ip -o -4 addr show eth0'), /inet 10\.77\.0\.2\/24/);
    assert.equal(await exec('web', 'cat /sys/class/net/eth0/address'), webMac);
    assert.match(await exec('web', 'ip route'), /^default via 10\.77\.0\.1 dev eth0/m);
    const epId = await ok(['inspect', '-f', '{{.NetworkSettings.Networks.rnet.EndpointID}}', 'web']);
    assert.match(await inNs('ip', ['-o', 'link', 'show', relayHostEnd({ id: epId })]), new RegExp(`master ${relayBridge({ id })}`));
  });

  await t.test('embedded DNS serves the network on its gateway: the capability said listener', async () => {
    assert.match(await exec('cli', 'cat /etc/resolv.conf'), /^nameserver 10\.77\.0\.1$/m);
    assert.match(await exec('cli', 'nslookup web'), /Address: 10\.77\.0\.2/);
    assert.equal(await wgetFrom(d, 'cli', 'http://web/'), 'hello-relay');
  });

  await t.test('the published port: the engine allocated it, the driver programmed it', async () => {
    assert.equal(await ok(['port', 'web']), '80/tcp -> 0.0.0.0:8091');
    assert.equal((await lab.curlOutside(`http://${HOST4}:8091/`)).trim(), 'hello-relay', 'from another machine');
    assert.equal((await lab.curlHost('http://127.0.0.1:8091/')).trim(), 'hello-relay', 'from the host, 127.0.0.1');
    assert.match(await inNs('nft', ['list', 'map', 'inet', 'relay', 'pub4']), /tcp \. 8091 : 10\.77\.0\.2 \. 80/);
  });

  await t.test('live connect and disconnect of a container on the default bridge', async () => {
    await ok(['run', '-dit', '--name', 'late', 'alpine', 'ash']);
    await ok(['network', 'connect', 'rnet', 'late']);
    assert.match(await exec('late', 'ip -o -4 addr show eth1'), /inet 10\.77\.0\.4\/24/, 'the second interface, renamed eth1 in the sandbox');
    assert.match(await exec('late', 'ip route'), /^default via 172\.17\.0\.1 dev eth0/m, 'the default bridge keeps the default route');
    assert.equal(await wgetFrom(d, 'late', `http://${webIp}/`), 'hello-relay');
    await ok(['network', 'disconnect', 'rnet', 'late']);
    assert.equal(await exec('late', 'ip -o link show eth1 2>&1 | grep -c eth1: || true'), '0');
    // No direct path any more (the relay driver keeps no isolation of its own: the way left is the default route).
    assert.match(await exec('late', `ip route get ${webIp}`), /via 172\.17\.0\.1 dev eth0/);
  });

  await t.test('rm and network rm leave nothing of the driver\'s behind', async () => {
    await ok(['rm', '-f', 'web', 'cli', 'late']);
    assert.doesNotMatch(await inNs('ip', ['-o', 'link', 'show']), /: rv[0-9a-f]{9}[@:]/, 'no host ends left');
    assert.doesNotMatch(await inNs('nft', ['list', 'map', 'inet', 'relay', 'pub4']), /8091/);
    assert.equal(await lab.curlOutside(`http://${HOST4}:8091/`), '');
    await ok(['network', 'rm', 'rnet']);
    assert.doesNotMatch(await inNs('ip', ['-o', 'link', 'show']), /: rl-/, 'the bridge went with the network');
  });
});
