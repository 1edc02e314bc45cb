import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from '../helpers/daemons.js';
import { HOST4, makeLab, OUT4B, runWeb, wgetFrom, type Lab } from './ports-lab.js';

// Published ports on weftd with real traffic: from another machine (a namespace behind a veth),
// from the host (its address and localhost), from other containers through the host address,
// and from a container to its own published port (hairpin). weft-only: the nft checks and the
// weft-user recipe are weft's (Docker 28 also reports [::] bindings served by docker-proxy).

const ERR_ALLOCATED = /driver failed programming external connectivity on endpoint web2 \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:8080 failed: port is already allocated/;

describe('ports (weft)', { timeout: 600_000 }, () => {
  let d: Daemon;
  let lab: Lab;
  const nft = async (...args: string[]) => (await lab.host('nft', args)).stdout;

  before(async () => {
    d = await startDaemon('weft');
    lab = await makeLab(d);
  });
  after(async () => {
    lab?.destroy();
    await d?.stop();
  });

  test('-p 8080:80 is reported like Docker and reachable from everywhere', async () => {
    await runWeb(d, 'web', 'hello-web', ['-p', '8080:80']);
    await runWeb(d, 'other', 'other');
    try {
      assert.equal(await d.dockerOk(['port', 'web']), '80/tcp -> 0.0.0.0:8080');
      assert.equal(await d.dockerOk(['port', 'web', '80']), '0.0.0.0:8080');
      assert.deepEqual(JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web'])), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
      assert.deepEqual(JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .HostConfig.PortBindings}}', 'web'])), { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
      assert.equal(await d.dockerOk(['ps', '--filter', 'name=web', '--format', '{{.Ports}}']), '0.0.0.0:8080->80/tcp');
      const list = await d.api('GET', '/containers/json');
      const web = list.json.find((c: { Names: string[] }) => c.Names[0] === '/web');
      assert.deepEqual(web.Ports, [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]);

      assert.equal((await lab.curlOutside(`http://${HOST4}:8080/`)).trim(), 'hello-web', 'from another machine');
      assert.equal((await lab.curlHost(`http://${HOST4}:8080/`)).trim(), 'hello-web', 'from the host, its address');
      assert.equal((await lab.curlHost('http://127.0.0.1:8080/')).trim(), 'hello-web', 'from the host, 127.0.0.1');
      assert.equal((await lab.curlHost('http://localhost:8080/', ['-4'])).trim(), 'hello-web', 'from the host, localhost');
      const gw = await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Gateway}}', 'web']);
      assert.equal(await wgetFrom(d, 'other', `http://${HOST4}:8080/`), 'hello-web', 'another container via the host address');
      assert.equal(await wgetFrom(d, 'other', `http://${gw}:8080/`), 'hello-web', 'another container via the gateway');
      assert.equal(await wgetFrom(d, 'web', `http://${HOST4}:8080/`), 'hello-web', 'hairpin: a container to its own published port');
      assert.equal(await wgetFrom(d, 'web', `http://${gw}:8080/`), 'hello-web', 'hairpin via the gateway');
    } finally {
      await d.docker(['rm', '-f', 'web', 'other']);
    }
    assert.doesNotMatch(await nft('list', 'map', 'inet', 'weft', 'pub4'), /8080/, 'rm removes the mapping');
    assert.doesNotMatch(await nft('list', 'set', 'inet', 'weft', 'hairpin4'), /\. 80/, 'and the hairpin element');
    assert.equal(await lab.curlOutside(`http://${HOST4}:8080/`), '', 'nothing answers once removed');
  });

  test('conflicts give Docker\'s error (CLI exit 125, API 500) and leave the container created', async () => {
    await runWeb(d, 'web', 'one', ['-p', '8080:80']);
    try {
      const r = await d.docker(['run', '-d', '--name', 'web2', '-p', '8080:80', 'busybox', 'httpd', '-f', '-p', '80']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /Error response from daemon: /);
      assert.match(r.stderr, ERR_ALLOCATED);
      assert.equal(await d.dockerOk(['inspect', '-f', '{{.State.Status}}', 'web2']), 'created');
      const api = await d.api('POST', '/containers/web2/start');
      assert.equal(api.status, 500);
      assert.match(api.json.message, ERR_ALLOCATED);
      // A specific address overlaps 0.0.0.0 of the same protocol.
      const r3 = await d.docker(['run', '-d', '--name', 'web3', '-p', `${HOST4}:8080:80`, 'busybox', 'httpd', '-f', '-p', '80']);
      assert.equal(r3.code, 125);
      assert.match(r3.stderr, /Bind for 10\.99\.0\.1:8080 failed: port is already allocated/);
      // Another protocol on the same port is free.
      await d.dockerOk(['run', '-d', '--name', 'web4', '-p', '8080:80/udp', 'busybox', 'sleep', '300']);
      assert.equal(await d.dockerOk(['port', 'web4']), '80/udp -> 0.0.0.0:8080');
      // Once the owner is gone the port is free again.
      await d.dockerOk(['rm', '-f', 'web']);
      await d.dockerOk(['start', 'web2']);
      assert.equal(await d.dockerOk(['port', 'web2']), '80/tcp -> 0.0.0.0:8080');
    } finally {
      await d.docker(['rm', '-f', 'web', 'web2', 'web3', 'web4']);
    }
  });

  test('ephemeral ports (-p 80, -P with --expose) come from ip_local_port_range, per protocol', async () => {
    const [lo, hi] = (await lab.host('cat', ['/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number);
    await runWeb(d, 'eph', 'eph', ['-p', '80', '-p', '53/udp', '--expose', '81', '-P']);
    try {
      const ports = JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'eph'])) as Record<string, { HostIp: string; HostPort: string }[]>;
      assert.deepEqual(Object.keys(ports).sort(), ['53/udp', '80/tcp', '81/tcp']);
      for (const list of Object.values(ports)) {
        assert.equal(list.length, 1);
        assert.equal(list[0].HostIp, '0.0.0.0');
        const p = Number(list[0].HostPort);
        assert.ok(p >= lo && p <= hi, `${p} within ${lo}-${hi}`);
      }
      assert.notEqual(ports['80/tcp'][0].HostPort, ports['81/tcp'][0].HostPort);
      const port80 = ports['80/tcp'][0].HostPort;
      assert.equal((await lab.curlOutside(`http://${HOST4}:${port80}/`)).trim(), 'eph');
      assert.match(await d.dockerOk(['port', 'eph', '80/tcp']), new RegExp(`^0\\.0\\.0\\.0:${port80}$`));
    } finally {
      await d.docker(['rm', '-f', 'eph']);
    }
    // Exposed but not published: null in inspect, no PublicPort in the list.
    await d.dockerOk(['run', '-d', '--name', 'exp', '--expose', '90', 'busybox', 'sleep', '300']);
    try {
      assert.equal(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'exp']), '{"90/tcp":null}');
      assert.equal(await d.dockerOk(['ps', '--filter', 'name=exp', '--format', '{{.Ports}}']), '90/tcp');
      await d.dockerOk(['stop', '-t', '0', 'exp']);
      assert.equal(await d.dockerOk(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'exp']), '{}');
    } finally {
      await d.docker(['rm', '-f', 'exp']);
    }
  });

  test('-p 127.0.0.1:8081:80 answers on localhost only', async () => {
    await runWeb(d, 'lo', 'lo-only', ['-p', '127.0.0.1:8081:80']);
    try {
      assert.equal(await d.dockerOk(['port', 'lo']), '80/tcp -> 127.0.0.1:8081');
      assert.equal((await lab.curlHost('http://127.0.0.1:8081/')).trim(), 'lo-only');
      assert.equal(await lab.curlHost(`http://${HOST4}:8081/`), '', 'not on the other addresses');
      assert.equal(await lab.curlOutside(`http://${HOST4}:8081/`), '', 'not from outside');
    } finally {
      await d.docker(['rm', '-f', 'lo']);
    }
  });

  test('create-time errors and the host-network warning', async () => {
    const create = (hostConfig: Record<string, unknown>, name: string) =>
      d.api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'], ExposedPorts: { '80/tcp': {} }, HostConfig: hostConfig });
    for (const [pb, msg] of [
      [{ 'abc/tcp': [{ HostPort: '80' }] }, 'invalid port specification: "abc"'],
      [{ '80/tcp': [{ HostPort: 'x80' }] }, 'invalid port specification: "x80"'],
      [{ '80/tcp': [{ HostPort: '70000' }] }, 'invalid port specification: "70000"'],
      [{ '80/tcp': [{ HostIp: '1.2.3', HostPort: '80' }] }, 'invalid host IP address in port binding: "1.2.3"'],
    ] as const) {
      const r = await create({ PortBindings: pb }, 'bad');
      assert.equal(r.status, 400, JSON.stringify(pb));
      assert.equal(r.json.message, msg);
    }
    const h = await create({ NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '80' }] } }, 'hostp');
    assert.equal(h.status, 201);
    assert.deepEqual(h.json.Warnings, ['Published ports are discarded when using host network mode']);
    const plain = await create({}, 'plain');
    assert.deepEqual(plain.json.Warnings, []);
    await d.docker(['rm', '-f', 'hostp', 'plain']);
  });

  test('an admin drops a published port for one source in weft-user', async () => {
    await runWeb(d, 'fw', 'fw', ['-p', '8082:80']);
    try {
      assert.equal((await lab.curlOutside(`http://${HOST4}:8082/`)).trim(), 'fw');
      // The README recipe: match the host port the client used, before DNAT.
      const add = await lab.host('nft', ['add', 'rule', 'inet', 'weft', 'weft-user', 'ip', 'saddr', '10.99.0.2', 'meta', 'l4proto', 'tcp', 'ct', 'original', 'proto-dst', '8082', 'drop']);
      assert.equal(add.code, 0, add.stderr);
      assert.equal(await lab.curlOutside(`http://${HOST4}:8082/`), '', 'blocked for 10.99.0.2');
      assert.equal((await lab.curlOutside(`http://${HOST4}:8082/`, ['--interface', OUT4B])).trim(), 'fw', 'other sources still pass');
      assert.equal((await lab.curlHost('http://127.0.0.1:8082/')).trim(), 'fw', 'the host itself is not forwarded traffic');
      // weft-user survives a daemon restart, and so do the mappings.
      await d.kill9();
      await d.restart();
      assert.match((await lab.host('nft', ['list', 'chain', 'inet', 'weft', 'weft-user'])).stdout, /proto-dst 8082 drop/);
      assert.equal(await lab.curlOutside(`http://${HOST4}:8082/`), '');
      assert.equal((await lab.curlOutside(`http://${HOST4}:8082/`, ['--interface', OUT4B])).trim(), 'fw');
    } finally {
      await lab.host('nft', ['flush', 'chain', 'inet', 'weft', 'weft-user']);
      await d.docker(['rm', '-f', 'fw']);
    }
  });

  test('mappings are map elements: the rule set does not grow with ports', async () => {
    const rules = async () => (await nft('-a', 'list', 'table', 'inet', 'weft')).split('\n').filter((l) => /# handle \d+$/.test(l) && !/^\s*(set|map|chain|table) /.test(l)).length;
    const before = await rules();
    for (let i = 0; i < 3; i++) await d.dockerOk(['run', '-d', '--name', `s${i}`, '-p', `${9100 + i}:80`, '-p', `${9200 + i}:81/udp`, 'busybox', 'sleep', '300']);
    try {
      assert.equal(await rules(), before);
      const pub4 = await nft('list', 'map', 'inet', 'weft', 'pub4');
      for (let i = 0; i < 3; i++) {
        assert.match(pub4, new RegExp(`tcp \\. ${9100 + i} : 172\\.17\\.0\\.\\d+ \\. 80`));
        assert.match(pub4, new RegExp(`udp \\. ${9200 + i} : 172\\.17\\.0\\.\\d+ \\. 81`));
      }
    } finally {
      await d.docker(['rm', '-f', 's0', 's1', 's2']);
    }
  });
});
