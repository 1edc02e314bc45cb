import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from '../helpers/daemons.js';
import { HOST4, HOST6, makeLab, OUT4, OUT6, runWeb, wgetFrom, type Lab } from './ports-lab.js';

// Bridge network options end to end on weftd: --internal, enable_icc, enable_ip_masquerade,
// host_binding_ipv4, mtu, bridge name, and IPv6 (addresses, ping, isolation, masq6, published
// ports over v6). An "outside" namespace behind a veth plays another machine and runs a server
// that answers with the client address it sees (to tell masquerade apart).

describe('bridge features (weft)', { timeout: 600_000 }, () => {
  let d: Daemon;
  let lab: Lab;

  before(async () => {
    d = await startDaemon('weft');
    lab = await makeLab(d);
    await lab.startEcho();
  });
  after(async () => {
    lab?.destroy();
    await d?.stop();
  });

  const ping = (from: string, target: string, v6 = false) => d.docker(['exec', from, 'ping', ...(v6 ? ['-6'] : []), '-c', '1', '-W', '2', target], { timeoutMs: 15_000 });
  const ip4 = async (c: string, net: string) => d.dockerOk(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);

  test('--internal: members talk, nothing leaves, no default route, no published ports', async () => {
    await d.dockerOk(['network', 'create', '--internal', '--subnet', '10.210.0.0/24', 'intnet']);
    try {
      await runWeb(d, 'i1', 'i1', ['--network', 'intnet', '-p', '8181:80']);
      await d.dockerOk(['run', '-d', '--name', 'i2', '--network', 'intnet', 'busybox', 'sleep', '300']);
      assert.equal((await ping('i2', await ip4('i1', 'intnet'))).code, 0, 'members reach each other');
      assert.equal(await wgetFrom(d, 'i2', `http://${await ip4('i1', 'intnet')}/`), 'i1');
      assert.doesNotMatch(await d.dockerOk(['exec', 'i2', 'ip', 'route']), /default/);
      assert.equal(await wgetFrom(d, 'i2', `http://${OUT4}:9999/`), '', 'no way out');
      assert.equal(await d.dockerOk(['port', 'i1']), '', 'no published port');
      assert.equal(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'i1']), '{"80/tcp":null}');
      assert.equal(await lab.curlOutside(`http://${HOST4}:8181/`), '');
      // A container also on a normal network publishes there and keeps the internal one private.
      await d.dockerOk(['network', 'connect', 'bridge', 'i2']);
      assert.notEqual(await wgetFrom(d, 'i2', `http://${OUT4}:9999/`), '', 'out through the bridge network');
    } finally {
      await d.docker(['rm', '-f', 'i1', 'i2']);
      await d.docker(['network', 'rm', 'intnet']);
    }
  });

  test('enable_icc=false: members cannot talk to each other but reach the gateway', async () => {
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '--subnet', '10.211.0.0/24', 'noicc']);
    try {
      await runWeb(d, 'n1', 'n1', ['--network', 'noicc']);
      await d.dockerOk(['run', '-d', '--name', 'n2', '--network', 'noicc', 'busybox', 'sleep', '300']);
      assert.notEqual((await ping('n2', await ip4('n1', 'noicc'))).code, 0, 'no ping between members');
      assert.equal(await wgetFrom(d, 'n2', `http://${await ip4('n1', 'noicc')}/`), '', 'no tcp between members');
      assert.equal((await ping('n2', '10.211.0.1')).code, 0, 'the gateway answers');
      assert.notEqual(await wgetFrom(d, 'n2', `http://${OUT4}:9999/`), '', 'still reaches the outside');
    } finally {
      await d.docker(['rm', '-f', 'n1', 'n2']);
      await d.docker(['network', 'rm', 'noicc']);
    }
  });

  test('enable_ip_masquerade: on by default (outside sees the host), off keeps the container address', async () => {
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', '--subnet', '10.212.0.0/24', 'nomasq']);
    const route = await lab.outside('ip', ['route', 'add', '10.212.0.0/24', 'via', HOST4]);
    assert.equal(route.code, 0, route.stderr);
    try {
      await d.dockerOk(['run', '-d', '--name', 'm1', '--network', 'nomasq', 'busybox', 'sleep', '300']);
      await d.dockerOk(['run', '-d', '--name', 'm2', 'busybox', 'sleep', '300']);
      assert.equal(await wgetFrom(d, 'm1', `http://${OUT4}:9999/`), await ip4('m1', 'nomasq'));
      assert.equal(await wgetFrom(d, 'm2', `http://${OUT4}:9999/`), HOST4);
    } finally {
      await d.docker(['rm', '-f', 'm1', 'm2']);
      await d.docker(['network', 'rm', 'nomasq']);
      await lab.outside('ip', ['route', 'del', '10.212.0.0/24']);
    }
  });

  test('host_binding_ipv4 is the default host address of -p on that network', async () => {
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1', '--subnet', '10.213.0.0/24', 'lonet']);
    try {
      await runWeb(d, 'hb', 'hb', ['--network', 'lonet', '-p', '8090:80']);
      assert.equal(await d.dockerOk(['port', 'hb']), '80/tcp -> 127.0.0.1:8090');
      assert.equal((await lab.curlHost('http://127.0.0.1:8090/')).trim(), 'hb');
      assert.equal(await lab.curlOutside(`http://${HOST4}:8090/`), '');
      // An explicit address still wins.
      await runWeb(d, 'hb2', 'hb2', ['--network', 'lonet', '-p', '0.0.0.0:8091:80']);
      assert.equal((await lab.curlOutside(`http://${HOST4}:8091/`)).trim(), 'hb2');
    } finally {
      await d.docker(['rm', '-f', 'hb', 'hb2']);
      await d.docker(['network', 'rm', 'lonet']);
    }
  });

  test('mtu and bridge name options reach the kernel', async () => {
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.driver.mtu=1400', '-o', 'com.docker.network.bridge.name=weftbr7', '--subnet', '10.214.0.0/24', 'opts']);
    try {
      await d.dockerOk(['run', '-d', '--name', 'o1', '--network', 'opts', 'busybox', 'sleep', '300']);
      assert.equal(await d.dockerOk(['exec', 'o1', 'cat', '/sys/class/net/eth0/mtu']), '1400');
      const link = await lab.host('ip', ['-d', 'link', 'show', 'weftbr7']);
      assert.equal(link.code, 0, link.stderr);
      assert.match(link.stdout, /mtu 1400 .*\n.*\n\s+bridge /);
      assert.match(link.stdout, /inet|bridge/);
      const addr = await lab.host('ip', ['-4', 'addr', 'show', 'weftbr7']);
      assert.match(addr.stdout, /10\.214\.0\.1\/24/);
    } finally {
      await d.docker(['rm', '-f', 'o1']);
      await d.docker(['network', 'rm', 'opts']);
    }
    assert.notEqual((await lab.host('ip', ['link', 'show', 'weftbr7'])).code, 0, 'bridge removed with the network');
  });

  test('IPv6: addresses, ping, isolation, masq6 and published ports over v6', async () => {
    await d.dockerOk(['network', 'create', '--ipv6', '--subnet', 'fd00:1::/64', 'v6net']);
    await d.dockerOk(['network', 'create', '--ipv6', '--subnet', 'fd00:2::/64', 'v6other']);
    try {
      await runWeb(d, 'a6', 'a6', ['--network', 'v6net', '-p', '8086:80']);
      await d.dockerOk(['run', '-d', '--name', 'b6', '--network', 'v6net', 'busybox', 'sleep', '300']);
      await d.dockerOk(['run', '-d', '--name', 'c6', '--network', 'v6other', 'busybox', 'sleep', '300']);
      const a6 = await d.dockerOk(['inspect', '-f', '{{(index .NetworkSettings.Networks "v6net").GlobalIPv6Address}}', 'a6']);
      assert.match(a6, /^fd00:1::[0-9a-f]+$/);
      assert.equal(await d.dockerOk(['inspect', '-f', '{{(index .NetworkSettings.Networks "v6net").GlobalIPv6PrefixLen}}', 'a6']), '64');
      assert.equal(await d.dockerOk(['inspect', '-f', '{{(index .NetworkSettings.Networks "v6net").IPv6Gateway}}', 'a6']), 'fd00:1::1');
      const members = JSON.parse(await d.dockerOk(['network', 'inspect', '-f', '{{json .Containers}}', 'v6net'])) as Record<string, { Name: string; IPv6Address: string }>;
      assert.equal(Object.values(members).find((m) => m.Name === 'a6')?.IPv6Address, `${a6}/64`);
      assert.equal((await ping('b6', a6, true)).code, 0, 'ping6 inside the network');
      assert.notEqual((await ping('c6', a6, true)).code, 0, 'another v6 network is isolated');
      assert.equal(await wgetFrom(d, 'b6', `http://[${OUT6}]:9999/`), HOST6, 'masq6: the outside sees the host');
      assert.equal(await d.dockerOk(['port', 'a6']), '80/tcp -> 0.0.0.0:8086\n80/tcp -> [::]:8086');
      assert.deepEqual(JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'a6'])), {
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '8086' },
          { HostIp: '::', HostPort: '8086' },
        ],
      });
      assert.equal((await lab.curlOutside(`http://[${HOST6}]:8086/`)).trim(), 'a6', 'published over v6');
      assert.equal((await lab.curlOutside(`http://${HOST4}:8086/`)).trim(), 'a6', 'and over v4');
    } finally {
      await d.docker(['rm', '-f', 'a6', 'b6', 'c6']);
      await d.docker(['network', 'rm', 'v6net', 'v6other']);
    }
  });
});
