import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCmd, startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { probeFrom, traceOf } from './trace-probe.js';

// `weft network trace` when the rules are not what weft's records imply (issue 16): rules added
// by hand to weft-user (which weft never rewrites) change what packets do; trace must follow the
// kernel, agree with the packets, and say that the records imply otherwise. Also the published
// port path (DNAT through the host) against a real connection, and the CLI's two formats.

describe('weft network trace with rules changed by hand', { skip: !weftdBuilt(), timeout: 120_000 }, () => {
  let d: Daemon;
  const ip: Record<string, string> = {};
  const gw: Record<string, string> = {};
  const nft = async (...args: string[]) => {
    const r = await runCmd('nsenter', [`--net=${d.netns.path}`, 'nft', ...args]);
    assert.equal(r.code, 0, `nft ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ping = async (from: string, to: string) => (await probeFrom(d, from, [{ kind: 'ping', target: to }])).get(`ping ${to}`)!;
  const http = async (from: string, target: string) => (await probeFrom(d, from, [{ kind: 'http', target }])).get(`http ${target}`)!;

  before(async () => {
    d = await startDaemon('weft', { extraArgs: ['--dns', '127.0.0.1'] });
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.name=br-tn', 'tn']);
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.name=br-tq', '-o', 'com.docker.network.bridge.enable_icc=false', 'tq']);
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.name=br-tm', 'tm']);
    const run = (name: string, net: string, ...extra: string[]) => d.dockerOk(['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sh', '-c', `mkdir /www && echo ${name} > /www/index.html && exec httpd -f -p 80 -h /www`]);
    await Promise.all([run('pa', 'tn'), run('pb', 'tn'), run('qa', 'tq'), run('qb', 'tq'), run('pc', 'tm', '-p', '8080:80'), run('pd', 'tm')]);
    for (const [c, n] of [['pa', 'tn'], ['pb', 'tn'], ['qa', 'tq'], ['qb', 'tq'], ['pc', 'tm'], ['pd', 'tm']]) {
      const j = JSON.parse(await d.dockerOk(['inspect', c]))[0].NetworkSettings.Networks[n];
      ip[c] = j.IPAddress;
      gw[c] = j.Gateway;
    }
  });
  after(() => d?.stop());

  test('a drop rule in weft-user: trace follows the kernel and names the disagreement', async () => {
    const clean = await traceOf(d, 'pa', 'pb');
    assert.equal(clean.reachable, true, JSON.stringify(clean.steps));
    assert.deepEqual(clean.disagreements, []);
    assert.equal(await ping('pa', ip.pb), true);

    await nft('add', 'rule', 'inet', 'weft', 'weft-user', 'ip', 'saddr', ip.pa, 'ip', 'daddr', ip.pb, 'counter', 'drop');
    const t = await traceOf(d, 'pa', 'pb');
    assert.equal(t.reachable, false, JSON.stringify(t.steps));
    const fw = t.steps.find((s) => s.step.startsWith('firewall to'))!;
    assert.match(fw.detail, new RegExp(`drop by rule inet weft weft-user handle \\d+: ip saddr ${ip.pa} ip daddr ${ip.pb} counter drop`));
    assert.equal(t.disagreements.length, 1, t.disagreements.join('\n'));
    assert.match(t.disagreements[0], /the records imply reachable \(same-network.*but the live state does not/);
    assert.equal(await ping('pa', ip.pb), false, 'the packet is dropped as trace says');
    assert.equal((await traceOf(d, 'pb', 'pa')).reachable, true, 'the other direction is untouched');
    await nft('flush', 'chain', 'inet', 'weft', 'weft-user');
    assert.deepEqual((await traceOf(d, 'pa', 'pb')).disagreements, []);
  });

  test('an accept rule in weft-user opens an ICC-off network: trace says reachable, against the records', async () => {
    const before = await traceOf(d, 'qa', 'qb', '80/tcp');
    assert.equal(before.reachable, false);
    assert.deepEqual(before.disagreements, []);
    assert.equal(await http('qa', ip.qb), false);

    await nft('add', 'rule', 'inet', 'weft', 'weft-user', 'iifname', 'br-tq', 'oifname', 'br-tq', 'meta', 'l4proto', 'tcp', 'tcp', 'dport', '80', 'accept');
    const t = await traceOf(d, 'qa', 'qb', '80/tcp');
    assert.equal(t.reachable, true, JSON.stringify(t.steps));
    assert.match(t.disagreements.join('\n'), /the records imply unreachable \(icc-off: .*lets it through: accept by rule inet weft weft-user/);
    assert.equal(await http('qa', ip.qb), true, 'the connection goes through as trace says');
    const icmp = await traceOf(d, 'qa', 'qb');
    assert.equal(icmp.reachable, false, 'ping is still dropped: the rule is for tcp 80 only');
    assert.equal(await ping('qa', ip.qb), false);
    await nft('flush', 'chain', 'inet', 'weft', 'weft-user');
  });

  test('the published-port path agrees with a real connection through the host', async () => {
    for (const from of ['pa', 'qa', 'pd']) {
      const t = await traceOf(d, from, 'pc', '80/tcp');
      const step = t.steps.find((s) => s.step === 'published 0.0.0.0:8080/tcp');
      assert.ok(step, JSON.stringify(t.steps));
      assert.match(step.detail, new RegExp(`${from} -> ${gw[from].replace(/\./g, '\\.')}:8080 is DNAT'd to ${ip.pc.replace(/\./g, '\\.')}:80`));
      const real = await http(from, `${gw[from]}:8080`);
      assert.equal(step.ok, real, `${from}: trace says ${step.ok ? 'through' : 'blocked'} (${step.detail}), the connection ${real ? 'went through' : 'failed'}`);
      assert.deepEqual(t.disagreements, []);
      console.log(`# published 8080 from ${from} (${{ pa: 'another network', qa: 'an ICC-off network', pd: 'the same network' }[from]}): ${real ? 'through' : 'blocked'}, as trace says: ${step.detail}`);
    }
    const none = await traceOf(d, 'pa', 'pb', '81/udp');
    assert.ok(none.steps.some((s) => s.step === 'published port' && !s.ok && /does not publish 81\/udp/.test(s.detail)));
  });

  test('weft network trace prints the steps, or JSON', async () => {
    const r = await d.weft(['network', 'trace', 'pa', 'qb', '--port', '80/tcp']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pa -> qb port 80\/tcp: NOT REACHABLE\n/);
    assert.match(r.stdout, /\[FAIL\] shared networks: none: pa is on tn, qb on tq/);
    assert.match(r.stdout, /\[FAIL\] firewall to .* drop by rule inet weft forward handle \d+: iifname @bridges oifname @bridges drop/);
    assert.match(r.stdout, /\[FAIL\] dns qb: qb does not resolve from pa/);
    const j = await d.weft(['network', 'trace', 'pa', 'pb', '--format', 'json']);
    const t = JSON.parse(j.stdout);
    assert.deepEqual(Object.keys(t), ['from', 'to', 'port', 'reachable', 'steps', 'disagreements']);
    assert.equal(t.reachable, true);
    assert.ok(t.steps.some((s: { step: string; ok: boolean; detail: string }) => s.step === 'dns pb' && s.ok && s.detail.includes(ip.pb)));
    const bad = await d.api('GET', '/weft/trace?from=pa&to=pb&port=99999');
    assert.equal(bad.status, 400);
    const missing = await d.api('GET', '/weft/trace?from=pa&to=nosuch');
    assert.equal(missing.status, 404);
  });
});
