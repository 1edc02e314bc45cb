import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { pluginDir, startSamplePlugin, type SamplePlugin } from '../helpers/sample-plugin.js';
import { createTestNetns } from '../helpers/netns.js';

// Docker's legacy network and IPAM plugin protocol, with examples/sample-plugin (a bridge-like
// network driver and an IPAM driver) running in the daemon's namespace, through the docker CLI.

const TIMEOUT_S = 2;

interface Lab {
  d: Daemon;
  dir: string;
  plugins: SamplePlugin[];
}

async function lab(t: { after: (fn: () => unknown) => void; skip: (m: string) => void }, extraDirs: string[] = []): Promise<Lab | null> {
  if (!weftdBuilt()) {
    t.skip('weftd is not built');
    return null;
  }
  const dir = pluginDir();
  const plugins: SamplePlugin[] = [];
  const d = await startDaemon('weft', { extraArgs: ['--plugin-dir', dir.path, ...extraDirs.flatMap((x) => ['--plugin-dir', x]), '--plugin-timeout', String(TIMEOUT_S)] }).catch((err) => {
    dir.remove();
    throw err;
  });
  t.after(async () => {
    try {
      await d.stop(); // removes the containers while the plugins still answer
    } finally {
      for (const p of plugins) await p.kill();
      dir.remove();
    }
  });
  return { d, dir: dir.path, plugins };
}

const ipamState = (dir: string) => JSON.parse(readFileSync(join(dir, 'sample-ipam.state.json'), 'utf8')) as Record<string, { cidr: string; taken: string[] }>;
const links = (d: Daemon) => d.netns.run('ip', ['-br', 'link']);

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('plugins: a network and IPAM plugin through the docker CLI: containers get its interface, addresses, routes, names; removal gives everything back', { timeout: 120_000 }, async (t) => {
  const env = await lab(t);
  if (!env) return;
  const { d, dir } = env;
  env.plugins.push(await startSamplePlugin(d.netns, dir));

  const id = await d.dockerOk(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', '--ipam-opt', 'sample.prefix=28', '-o', 'sample.route=10.99.0.0/16', 'pnet']);
  assert.equal(await d.dockerOk(['network', 'inspect', '-f', '{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.IPAM.Options}}', 'pnet']), 'sample sample-ipam 10.77.0.0/28 10.77.0.1 map[sample.prefix:28]');
  const bridge = `sbr${id.slice(0, 12)}`;
  assert.match(d.netns.run('ip', ['-br', 'addr', 'show', bridge]), /10\.77\.0\.1\/28/, 'the plugin made its bridge with the gateway IPAM gave');
  assert.match(await d.dockerOk(['info', '-f', '{{.Plugins.Network}}']), /\bsample\b/);
  const listed = await d.api('GET', '/plugins');
  assert.deepEqual(listed.json.map((p: { Name: string }) => p.Name).sort(), ['sample', 'sample-ipam']);
  assert.deepEqual(listed.json.find((p: { Name: string }) => p.Name === 'sample').Config.Interface.Types, ['docker.networkdriver/1.0']);
  assert.match(await d.dockerOk(['plugin', 'ls']), /sample-ipam\s+legacy plugin at unix:\/\/.*true/);
  assert.equal(await d.dockerOk(['plugin', 'inspect', '-f', '{{.Name}} {{.Enabled}} {{.Config.Interface.Types}}', 'sample-ipam']), 'sample-ipam true [docker.ipamdriver/1.0]');

  await d.dockerOk(['run', '-d', '--name', 'p1', '--network', 'pnet', 'alpine', 'sleep', '300']);
  await d.dockerOk(['run', '-d', '--name', 'p2', '--network', 'pnet', 'alpine', 'sleep', '300']);
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'p1']), '10.77.0.2');
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'p2']), '10.77.0.3');
  const mac = await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.MacAddress}}', 'p1']);
  const addr = await d.dockerOk(['exec', 'p1', 'ip', 'addr', 'show', 'eth0']);
  assert.match(addr, /inet 10\.77\.0\.2\/28/);
  assert.ok(addr.includes(mac), `eth0 has the endpoint's MAC ${mac}:\n${addr}`);
  const routes = await d.dockerOk(['exec', 'p1', 'ip', 'route']);
  assert.match(routes, /default via 10\.77\.0\.1 dev eth0/, 'the gateway Join answered');
  assert.match(routes, /10\.99\.0\.0\/16 via 10\.77\.0\.1 dev eth0/, 'the static route Join answered');
  const epId = await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.EndpointID}}', 'p1']);
  assert.match(links(d), new RegExp(`sv${epId.slice(0, 12)}.*UP`), "the plugin's host end is on its bridge");

  await d.dockerOk(['exec', 'p1', 'ping', '-c', '1', '-W', '2', '10.77.0.3']);
  await d.dockerOk(['exec', 'p2', 'ping', '-c', '1', '-W', '2', 'p1']); // the embedded DNS on the plugin's gateway
  assert.deepEqual(ipamState(dir)[`sample/10.77.0.0/28`]!.taken.sort(), ['10.77.0.1', '10.77.0.2', '10.77.0.3']);
  // Another host routing to the plugin's subnet through weftd's namespace: weft's forward policy
  // drops only its own bridges' traffic, never a plugin's.
  const outside = createTestNetns('wpo');
  t.after(() => outside.destroy());
  d.netns.run('ip', ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  d.netns.run('ip', ['link', 'set', 'up1', 'netns', outside.path]);
  d.netns.run('ip', ['addr', 'add', '192.168.77.1/24', 'dev', 'up0']);
  d.netns.run('ip', ['link', 'set', 'up0', 'up']);
  outside.run('ip', ['addr', 'add', '192.168.77.2/24', 'dev', 'up1']);
  outside.run('ip', ['link', 'set', 'up1', 'up']);
  outside.run('ip', ['route', 'add', '10.77.0.0/28', 'via', '192.168.77.1']);
  outside.run('busybox', ['ping', '-c', '1', '-W', '2', '10.77.0.2']);
  await d.dockerOk(['exec', 'p1', 'ping', '-c', '1', '-W', '2', '192.168.77.2']);

  // Published ports: handed to the plugin in ProgramExternalConnectivity, which DNATs them.
  await d.dockerOk(['run', '-d', '--name', 'web', '--hostname', 'webhost', '--network', 'pnet', '-p', '18080:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
  assert.match(await d.dockerOk(['port', 'web']), /80\/tcp -> 0\.0\.0\.0:18080/);
  await until('the published port to answer', () => {
    try {
      return /webhost/.test(d.netns.run('timeout', ['3', 'busybox', 'wget', '-qO-', 'http://10.77.0.1:18080/hostname']));
    } catch {
      return false;
    }
  });
  await d.dockerOk(['rm', '-f', 'web']);
  assert.doesNotMatch(d.netns.run('nft', ['list', 'map', 'ip', 'sample_ports', 'ports']), /18080/, 'RevokeExternalConnectivity removed the port');

  await d.dockerOk(['rm', '-f', 'p1', 'p2']);
  assert.doesNotMatch(links(d), /\bsv[0-9a-f]{12}/, 'DeleteEndpoint removed the veths');
  assert.deepEqual(ipamState(dir)[`sample/10.77.0.0/28`]!.taken, ['10.77.0.1'], 'the addresses went back to the plugin');
  await d.dockerOk(['network', 'rm', 'pnet']);
  assert.doesNotMatch(links(d), new RegExp(bridge), 'DeleteNetwork removed the bridge');
  assert.deepEqual(ipamState(dir), {}, 'the pool went back to the plugin');
});

test('plugins: with --ipam-driver null the plugin chooses the addresses and MACs in CreateEndpoint; weft records and applies them', { timeout: 60_000 }, async (t) => {
  const env = await lab(t);
  if (!env) return;
  const { d, dir } = env;
  env.plugins.push(await startSamplePlugin(d.netns, dir));
  await d.dockerOk(['network', 'create', '-d', 'sample', '--ipam-driver', 'null', '-o', 'sample.subnet=10.66.0.0/24', 'own']);
  await d.dockerOk(['run', '-d', '--name', 'q1', '--network', 'own', 'alpine', 'sleep', '300']);
  await d.dockerOk(['run', '-d', '--name', 'q2', '--network', 'own', 'alpine', 'sleep', '300']);
  const f = '{{with .NetworkSettings.Networks.own}}{{.IPAddress}}/{{.IPPrefixLen}} {{.MacAddress}} {{.Gateway}}{{end}}';
  assert.equal(await d.dockerOk(['inspect', '-f', f, 'q1']), '10.66.0.2/24 02:42:0a:42:00:02 10.66.0.1');
  assert.equal(await d.dockerOk(['inspect', '-f', f, 'q2']), '10.66.0.3/24 02:42:0a:42:00:03 10.66.0.1');
  const addr = await d.dockerOk(['exec', 'q1', 'ip', 'addr', 'show', 'eth0']);
  assert.match(addr, /02:42:0a:42:00:02/);
  assert.match(addr, /inet 10\.66\.0\.2\/24/);
  assert.match(await d.dockerOk(['exec', 'q1', 'ip', 'route']), /default via 10\.66\.0\.1 dev eth0/);
  await d.dockerOk(['exec', 'q1', 'ping', '-c', '1', '-W', '2', '10.66.0.3']);
  assert.match(await d.dockerOk(['network', 'inspect', '-f', '{{range .Containers}}{{.IPv4Address}} {{end}}', 'own']), /10\.66\.0\.2\/24/);
  await d.dockerOk(['rm', '-f', 'q1', 'q2']);
  await d.dockerOk(['network', 'rm', 'own']);
  assert.doesNotMatch(links(d), /\bsv[0-9a-f]{12}|sbr/);
});

test('plugins: errors reach the user as Docker reports them and leave nothing behind', { timeout: 90_000 }, async (t) => {
  const open = pluginDir(0o777); // group/world writable: nothing in it is trusted
  t.after(() => open.remove());
  const env = await lab(t, [open.path]);
  if (!env) return;
  const { d, dir } = env;
  env.plugins.push(await startSamplePlugin(d.netns, dir, ['--fail', 'NetworkDriver.DeleteNetwork=kaputt']));

  const fails = async (args: string[], re: RegExp) => {
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
    assert.match(r.stderr, re);
  };
  await fails(['network', 'create', '-d', 'sample', '-o', 'sample.fail=no such thing', 'e1'], /^Error response from daemon: remote: no such thing$/m);
  await fails(['network', 'create', '-d', 'nosuch', 'e2'], /^Error response from daemon: plugin "nosuch" not found$/m);
  await fails(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', '--ipv6', 'e3'], /remote: sample-ipam: IPv6 is not supported/);
  await fails(['network', 'create', '-d', 'sample-ipam', 'e4'], /Plugin does not implement the requested driver/);
  await fails(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', '--ipam-opt', 'sample.prefix=40', 'e5'], /remote: sample-ipam: sample\.prefix must be 16 to 30, not 40/);
  env.plugins.push(await startSamplePlugin(d.netns, open.path, ['--name', 'evil', '--ipam-name', 'evil-ipam']));
  await fails(['network', 'create', '-d', 'evil', 'e6'], /plugin "evil" is not trusted: .* is writable by group or others/);
  assert.equal(await d.dockerOk(['network', 'ls', '--filter', 'name=^e[0-9]', '-q']), '', 'no network was recorded');
  assert.doesNotMatch(links(d), /sbr/, 'no bridge was left');

  // A plugin's 500 answer (go-plugins-helpers style): the method and its Err.
  await d.dockerOk(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', 'ok']);
  await fails(['network', 'rm', 'ok'], /NetworkDriver\.DeleteNetwork: kaputt/);
  assert.deepEqual(ipamState(dir), {}, 'the pool was released before the driver refused');
});

test('plugins: a hanging plugin fails its own request; a plugin killed mid-join leaves nothing and is used again once back', { timeout: 120_000 }, async (t) => {
  const env = await lab(t);
  if (!env) return;
  const { d, dir } = env;
  env.plugins.push(await startSamplePlugin(d.netns, dir, ['--name', 'hang', '--ipam-name', 'hang-ipam', '--hang', 'NetworkDriver.CreateNetwork']));
  let sample = await startSamplePlugin(d.netns, dir);
  env.plugins.push(sample);

  // Hanging: the request fails after the plugin timeout; reads meanwhile answer at once.
  const t0 = Date.now();
  const hung = d.docker(['network', 'create', '-d', 'hang', 'hn']);
  await env.plugins[0]!.waitFor(/NetworkDriver\.CreateNetwork/);
  const t1 = Date.now();
  await d.dockerOk(['network', 'ls']);
  assert.ok(Date.now() - t1 < 1500, `network ls waited ${Date.now() - t1} ms behind a hanging plugin`);
  const other = d.docker(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', 'pnet']);
  const r = await hung;
  const took = Date.now() - t0;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Post "http:\/\/.*hang\.sock\/NetworkDriver\.CreateNetwork": context deadline exceeded/);
  assert.ok(took < (TIMEOUT_S + 3) * 1000, `the hanging plugin held the request ${took} ms`);
  assert.equal((await other).code, 0, 'a network of another plugin is made once the hung one gave up');
  assert.equal(await d.dockerOk(['network', 'ls', '--filter', 'name=hn', '-q']), '');

  // Crashed mid-create: the bridge is made, the plugin dies before it answers. weft keeps
  // nothing; the plugin, once back, is told to drop the network and the pool.
  await sample.kill();
  sample = await startSamplePlugin(d.netns, dir, ['--crash', 'NetworkDriver.CreateNetwork']);
  env.plugins.push(sample);
  const crashed = await d.docker(['network', 'create', '-d', 'sample', '--ipam-driver', 'sample-ipam', 'cn']);
  assert.notEqual(crashed.code, 0);
  assert.match(crashed.stderr, /Post "http:\/\/.*sample\.sock\/NetworkDriver\.CreateNetwork": EOF/);
  assert.equal(await d.dockerOk(['network', 'ls', '--filter', 'name=^cn$', '-q']), '');
  const bridges = () => (links(d).match(/\bsbr[0-9a-f]{12}/g) ?? []).length;
  assert.equal(bridges(), 2, "the crashed plugin's bridge is there beside pnet's");
  assert.equal(Object.keys(ipamState(dir)).length, 2, 'and its pool');
  sample = await startSamplePlugin(d.netns, dir);
  env.plugins.push(sample);
  await until('the kept DeleteNetwork and ReleasePool', () => bridges() === 1 && Object.keys(ipamState(dir)).length === 1);

  // A plugin hanging in its handshake holds up nobody else: activation happens outside the
  // engine's lock (a bridge network is made meanwhile, at once).
  env.plugins.push(await startSamplePlugin(d.netns, dir, ['--name', 'mute', '--ipam-name', 'mute-ipam', '--hang', 'Plugin.Activate']));
  const muted = d.docker(['network', 'create', '-d', 'mute', 'mn']);
  await env.plugins.at(-1)!.waitFor(/Plugin\.Activate/);
  const t2 = Date.now();
  await d.dockerOk(['network', 'create', 'plainnet']);
  assert.ok(Date.now() - t2 < 1500, `a bridge network waited ${Date.now() - t2} ms behind a plugin's handshake`);
  const m = await muted;
  assert.notEqual(m.code, 0);
  assert.match(m.stderr, /mute\.sock\/Plugin\.Activate": context deadline exceeded/);
  await d.dockerOk(['network', 'rm', 'plainnet']);

  // Killed mid-join: CreateEndpoint made a veth, Join never answers, the plugin dies.
  await sample.kill();
  sample = await startSamplePlugin(d.netns, dir, ['--hang', 'NetworkDriver.Join']);
  env.plugins.push(sample);
  const run = d.docker(['run', '-d', '--name', 'c1', '--network', 'pnet', 'alpine', 'sleep', '300']);
  await sample.waitFor(/NetworkDriver\.Join/);
  assert.match(links(d), /\bsv[0-9a-f]{12}/, 'CreateEndpoint made its veth');
  await sample.kill('SIGKILL');
  const failed = await run;
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /Post "http:\/\/.*sample\.sock\/NetworkDriver\.Join": EOF/);
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.State.Status}}', 'c1']), 'created');
  assert.equal(await d.dockerOk(['network', 'inspect', '-f', '{{len .Containers}}', 'pnet']), '0', 'no endpoint recorded');

  // Back: the calls weft kept (DeleteEndpoint, ReleaseAddress) are delivered, and it is used again.
  sample = await startSamplePlugin(d.netns, dir);
  env.plugins.push(sample);
  await until('the kept DeleteEndpoint to remove the veth', () => !/\bsv[0-9a-f]{12}/.test(links(d)));
  await until('the kept ReleaseAddress', () => Object.values(ipamState(dir))[0]!.taken.length === 1);
  await d.dockerOk(['start', 'c1']);
  await d.dockerOk(['run', '-d', '--name', 'c2', '--network', 'pnet', 'alpine', 'sleep', '300']);
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'c1']), '10.77.0.2', 'the address the crash held was given again');
  await d.dockerOk(['exec', 'c2', 'ping', '-c', '1', '-W', '2', 'c1']);

  // weftd restarted while the plugin is down: it starts anyway; once the plugin is back its
  // network is used again, its pools and addresses known without being asked for again.
  await sample.kill();
  await d.restart();
  assert.match(d.logTail(40), /pools not restored/);
  sample = await startSamplePlugin(d.netns, dir);
  env.plugins.push(sample);
  const back = Date.now();
  await until('names to resolve again once the plugin is back', async () => (await d.docker(['exec', 'c1', 'ping', '-c', '1', '-W', '1', 'c2'])).code === 0, 15_000);
  assert.ok(Date.now() - back < 8000, `DNS came back ${Date.now() - back} ms after the plugin`);
  await d.dockerOk(['run', '-d', '--name', 'c3', '--network', 'pnet', 'alpine', 'sleep', '300']);
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'c3']), '10.77.0.4');
  await d.dockerOk(['exec', 'c3', 'ping', '-c', '1', '-W', '2', 'c1']);
  assert.doesNotMatch(sample.output(), /RequestPool/, 'the pool was not asked for again');
  await d.dockerOk(['rm', '-f', 'c1', 'c2', 'c3']);
  await d.dockerOk(['network', 'rm', 'pnet']);
  assert.deepEqual(ipamState(dir), {});
  assert.doesNotMatch(links(d), /\bsv[0-9a-f]{12}|sbr/);
});
