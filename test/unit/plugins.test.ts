import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDaemonArgs } from '../../src/daemon/config.js';
import { PluginClient, PLUGIN_MIME } from '../../src/plugins/client.js';
import { checkTrusted, PluginDiscovery, PluginTrustError } from '../../src/plugins/discovery.js';
import { joinSteps, leaveSteps, parseJoinAnswer, portmapOption, ipamData, srcNameFromAlias, pluginAlias } from '../../src/plugins/join-steps.js';
import { PluginManager } from '../../src/plugins/plugin.js';
import { ipamPluginResolver, networkPluginResolver } from '../../src/plugins/index.js';
import { feedNodeDiscovery } from '../../src/plugins/node-discovery.js';
import { DriverRegistry } from '../../src/drivers/driver.js';
import type { Kernel } from '../../src/kernel/types.js';
import type { Cluster } from '../../src/cluster/cluster.js';
import { EventEmitter } from 'node:events';
import { parseCapabilities } from '../../src/plugins/network-driver.js';
import { createLogger } from '../../src/common/log.js';
import { REPLAY } from '../../src/ipam/api.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';

// The plugin protocol's pure parts (Join answers as kernel plans, discovery and trust, options)
// and the client against plugin servers in this process (error texts, deadlines, retries).

const root = mkdtempSync('/run/weft-plugins-unit-');
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));
const log = createLogger({ level: 'fatal' });

const ep = { id: 'ab'.repeat(32), ifname: 'eth1', mac: '02:42:0a:4d:00:02', ipv4: '10.77.0.2/24', ipv6: '', gateway4: '10.77.0.1', gateway6: '' } as EndpointRecord;

test('Join answers: parsed with libnetwork texts, applied as move+rename, MAC, addresses, gateway, static routes', () => {
  const ans = parseJoinAnswer({ InterfaceName: { SrcName: 'sc123', DstPrefix: 'eth' }, Gateway: '10.77.0.1', StaticRoutes: [{ Destination: '10.99.0.0/16', RouteType: 0, NextHop: '10.77.0.1' }, { Destination: '10.98.0.0/16', RouteType: 1 }], DisableGatewayService: true });
  assert.deepEqual(ans, { srcName: 'sc123', dstPrefix: 'eth', gateway4: '10.77.0.1', gateway6: '', routes: [{ destination: '10.99.0.0/16', routeType: 0, nextHop: '10.77.0.1' }, { destination: '10.98.0.0/16', routeType: 1, nextHop: '' }], disableGatewayService: true });
  const ns = '/run/x/netns/c';
  const steps = joinSteps(ep, ans, ns, true);
  assert.deepEqual(steps[0], { op: 'link.set', name: 'sc123', netns: ns, rename: 'eth1' });
  assert.deepEqual(steps[1], { op: 'link.set', ns, name: 'eth1', alias: pluginAlias(ep, 'sc123'), mac: ep.mac });
  assert.ok(steps.some((s) => s.op === 'addr.replace' && s.cidr === '10.77.0.2/24' && s.dev === 'eth1'));
  assert.ok(steps.some((s) => s.op === 'route.replace' && s.dst === 'default' && s.via === '10.77.0.1'));
  assert.ok(steps.some((s) => s.op === 'route.replace' && s.dst === '10.99.0.0/16' && s.via === '10.77.0.1'));
  assert.ok(steps.some((s) => s.op === 'route.replace' && s.dst === '10.98.0.0/16' && !('via' in s && s.via)));
  assert.equal(joinSteps(ep, ans, ns, false).filter((s) => s.op === 'route.replace' && s.dst === 'default').length, 0, 'no default route unless this endpoint provides it');
  // DstPrefix with the engine's index; no gateway answered: no default route (libnetwork uses the plugin's only).
  const other = joinSteps(ep, parseJoinAnswer({ InterfaceName: { SrcName: 'x', DstPrefix: 'wlan' } }), ns, true);
  assert.equal((other[0] as { rename: string }).rename, 'wlan1');
  assert.ok(!other.some((s) => s.op === 'route.replace'));
  assert.deepEqual(joinSteps(ep, parseJoinAnswer({}), ns, true), [], 'no interface named: nothing to move');
  assert.throws(() => parseJoinAnswer({ Gateway: 'nope' }), /unable to parse Gateway "nope"/);
  assert.throws(() => parseJoinAnswer({ StaticRoutes: [{ Destination: '10.0.0.0/8', NextHop: 'x' }] }), /failed to parse nexthop IP x/);
  assert.throws(() => parseJoinAnswer({ InterfaceName: { SrcName: 'a/b' } }), /invalid SrcName/);
  assert.equal(srcNameFromAlias(ep, pluginAlias(ep, 'sc123')), 'sc123');
  assert.equal(srcNameFromAlias({ ...ep, id: 'cd'.repeat(32) }, pluginAlias(ep, 'sc123')), null, "another endpoint's interface is not taken");
  assert.deepEqual(leaveSteps('eth1', 'sc123', ns, '/proc/1/ns/net')[1], { op: 'link.set', ns, name: 'eth1', rename: 'sc123', netns: '/proc/1/ns/net', tolerate: 'gone' });
});

test('options in Docker shapes: portmap, IPAMData, capabilities', () => {
  assert.deepEqual(portmapOption([{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]), [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }]);
  const net = { enableIPv6: false, ipam: { config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1', AuxiliaryAddresses: { h: '10.77.0.9' } }, { Subnet: 'fd00::/64', Gateway: 'fd00::1' }] } } as unknown as NetworkRecord;
  assert.deepEqual(ipamData(net, false, 'LocalDefault'), [{ AddressSpace: 'LocalDefault', Pool: '10.77.0.0/24', Gateway: '10.77.0.1/24', AuxAddresses: { h: '10.77.0.9/24' } }]);
  assert.deepEqual(ipamData(net, true, 'LocalDefault'), [], 'IPv6 pools only with IPv6 on');
  assert.deepEqual(parseCapabilities({ Scope: 'global' }), { scope: 'global', connectivityScope: 'global' });
  assert.throws(() => parseCapabilities({ Scope: 'cluster' }), /invalid capability: expecting 'local' or 'global', got cluster/);
});

test('discovery: sockets before specs, both layouts; only root-owned paths no one else can write', () => {
  const dir = join(root, 'd1');
  mkdirSync(join(dir, 'nested'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'spec1.spec'), 'unix:///run/elsewhere/x.sock\n');
  writeFileSync(join(dir, 'nested', 'nested.json'), JSON.stringify({ Name: 'nested', Addr: 'tcp://127.0.0.1:9999' }));
  writeFileSync(join(dir, 'bad.spec'), 'no scheme');
  const disc = new PluginDiscovery({ sockets: [dir], specs: [dir] });
  assert.equal(disc.find('nested')?.addr, 'tcp://127.0.0.1:9999');
  assert.throws(() => disc.find('spec1'), PluginTrustError, 'a spec naming a socket that does not exist');
  assert.throws(() => disc.find('bad'), /Unknown protocol/);
  assert.equal(disc.find('missing'), null);
  assert.equal(disc.find('../etc/passwd'), null, 'names are names, not paths');
  assert.deepEqual(disc.scan(), ['bad', 'nested', 'spec1']);
  // Writable by others, or owned by someone else: refused.
  const w = join(root, 'd2');
  mkdirSync(w);
  chmodSync(w, 0o775);
  writeFileSync(join(w, 'p.spec'), 'tcp://127.0.0.1:1');
  assert.throws(() => new PluginDiscovery({ sockets: [], specs: [w] }).find('p'), /writable by group or others/);
  chmodSync(w, 0o755);
  chmodSync(join(w, 'p.spec'), 0o666);
  assert.throws(() => new PluginDiscovery({ sockets: [], specs: [w] }).find('p'), /p\.spec is writable by group or others/);
  chmodSync(join(w, 'p.spec'), 0o644);
  chownSync(join(w, 'p.spec'), 1000, 1000);
  assert.throws(() => checkTrusted(join(w, 'p.spec')), /owned by uid 1000, not root/);
  chownSync(join(w, 'p.spec'), 0, 0);
  checkTrusted(join(w, 'p.spec'));
});

/** A plugin server on a unix socket answering from a table of handlers. */
async function fakePlugin(name: string, handlers: Record<string, (body: any) => { status?: number; body?: unknown } | null>): Promise<{ socket: string; server: Server; seen: { method: string; body: any; headers: Record<string, unknown> }[] }> {
  const socket = join(root, `${name}.sock`);
  const seen: { method: string; body: any; headers: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const method = req.url!.slice(1);
      const body = text ? JSON.parse(text) : null;
      seen.push({ method, body, headers: req.headers });
      const h = handlers[method];
      if (!h) return res.writeHead(404).end('404 page not found');
      const ans = h(body);
      if (ans === null) return; // hang
      res.writeHead(ans.status ?? 200).end(JSON.stringify(ans.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(socket, () => r()));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { socket, server, seen };
}

test('client: Docker\'s texts for an Err with 200 (remote:), a non-200, a hang past the deadline, a socket that is not there', async () => {
  const p = await fakePlugin('c1', {
    'Plugin.Activate': () => ({ body: { Implements: ['NetworkDriver'] } }),
    'NetworkDriver.A': () => ({ body: { Err: 'boom' } }),
    'NetworkDriver.B': () => ({ status: 500, body: { Err: 'bang' } }),
    'NetworkDriver.Hang': () => null,
    'NetworkDriver.Num': () => ({ body: 42 }),
    'NetworkDriver.Null': () => ({ body: null }),
  });
  const mgr = new PluginManager({ discovery: new PluginDiscovery({ sockets: [root], specs: [] }), timeoutMs: 400, log });
  const plugin = (await mgr.get('c1', 'NetworkDriver'))!;
  assert.equal(p.seen[0]!.method, 'Plugin.Activate');
  assert.equal(p.seen[0]!.headers['content-type'], PLUGIN_MIME);
  await assert.rejects(plugin.call('NetworkDriver', 'A', {}), { message: 'remote: boom' });
  await assert.rejects(plugin.call('NetworkDriver', 'B', {}), { message: 'NetworkDriver.B: bang' });
  const t0 = Date.now();
  await assert.rejects(plugin.call('NetworkDriver', 'Hang', {}), (err: Error) => /^Post "http:\/\/%2Frun%2F.*c1\.sock\/NetworkDriver\.Hang": context deadline exceeded/.test(err.message));
  assert.ok(Date.now() - t0 < 1000, 'the deadline holds');
  assert.equal(await plugin.optional('NetworkDriver', 'Missing', {}), null, '404: an optional method the plugin lacks');
  await assert.rejects(plugin.call('NetworkDriver', 'Num', {}), /NetworkDriver\.Num: invalid JSON answer: json: cannot unmarshal number/);
  assert.deepEqual(await plugin.call('NetworkDriver', 'Null', {}), {});
  await assert.rejects(mgr.get('c1', 'IpamDriver'), /Plugin does not implement the requested driver/);
  const gone = new PluginClient(`unix://${join(root, 'none.sock')}`, { timeoutMs: 300 });
  await assert.rejects(gone.call('X.Y'), /dial unix .*none\.sock: connect: no such file or directory/);
});

test('client: a plugin that comes back within the deadline is waited for; cleanups that find it down are sent when it is back', async () => {
  const socket = join(root, 'late.sock');
  const client = new PluginClient(`unix://${socket}`, { timeoutMs: 3000 });
  const answered = client.call('Plugin.Activate', null);
  await new Promise((r) => setTimeout(r, 300));
  const late = await fakePlugin('late', { 'Plugin.Activate': () => ({ body: { Implements: ['IpamDriver'] } }) });
  assert.deepEqual(await answered, { Implements: ['IpamDriver'] });
  assert.equal(late.socket, socket);

  const p = await fakePlugin('flaky', { 'Plugin.Activate': () => ({ body: { Implements: ['IpamDriver'] } }), 'IpamDriver.ReleasePool': () => ({ body: {} }) });
  const mgr = new PluginManager({ discovery: new PluginDiscovery({ sockets: [root], specs: [] }), timeoutMs: 200, log });
  const plugin = (await mgr.get('flaky', 'IpamDriver'))!;
  p.server.closeAllConnections();
  await new Promise((r) => p.server.close(() => r(undefined)));
  await plugin.cleanup('IpamDriver', 'ReleasePool', { PoolID: 'x' }); // resolves: kept
  assert.deepEqual(plugin.pendingCalls(), ['IpamDriver.ReleasePool']);
  await new Promise<void>((r) => p.server.listen(p.socket, () => r()));
  const end = Date.now() + 5000;
  while (plugin.pendingCalls().length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(plugin.pendingCalls(), []);
  assert.deepEqual(p.seen.filter((s) => s.method === 'IpamDriver.ReleasePool').map((s) => s.body), [{ PoolID: 'x' }]);
  mgr.stop();
});

test('remote IPAM: requests in the plugin\'s shape; a restart\'s replay answered from the kept pool IDs, not sent again', async () => {
  const p = await fakePlugin('ipam1', {
    'Plugin.Activate': () => ({ body: { Implements: ['IpamDriver'] } }),
    'IpamDriver.GetCapabilities': () => ({ body: { RequiresMACAddress: false } }),
    'IpamDriver.GetDefaultAddressSpaces': () => ({ body: { LocalDefaultAddressSpace: 'l', GlobalDefaultAddressSpace: 'g' } }),
    'IpamDriver.RequestPool': (b) => ({ body: { PoolID: 'pool-1', Pool: b.Pool || '10.9.0.0/24', Data: { a: 1 } } }),
    'IpamDriver.RequestAddress': (b) => ({ body: { Address: `${b.Address || '10.9.0.2'}/24` } }),
  });
  const stateDir = join(root, 'ipam-state');
  const resolve = ipamPluginResolver(new PluginManager({ discovery: new PluginDiscovery({ sockets: [root], specs: [] }), timeoutMs: 1000, log }), { stateDir });
  const ipam = (await resolve('ipam1'))!;
  assert.deepEqual(ipam.capabilities, { requiresMacAddress: false, requiresRequestReplay: false });
  assert.deepEqual(await ipam.getDefaultAddressSpaces(), { local: 'l', global: 'g' });
  assert.deepEqual(await ipam.requestPool({ addressSpace: 'l', options: { x: 'y' }, v6: false }), { poolId: 'pool-1', pool: '10.9.0.0/24', meta: { a: '1' } });
  assert.deepEqual(p.seen.at(-1)!.body, { AddressSpace: 'l', Pool: '', SubPool: '', Options: { x: 'y' }, V6: false });
  assert.equal((await ipam.requestAddress('pool-1', undefined, { RequestAddressType: 'com.docker.network.gateway' })).address, '10.9.0.2/24');
  assert.deepEqual(p.seen.at(-1)!.body, { PoolID: 'pool-1', Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  // A new daemon (a new resolver) replays: answered from the file, no call made.
  const again = (await ipamPluginResolver(new PluginManager({ discovery: new PluginDiscovery({ sockets: [root], specs: [] }), timeoutMs: 1000, log }), { stateDir })('ipam1'))!;
  const calls = p.seen.length;
  assert.deepEqual(await again.requestPool({ addressSpace: 'l', pool: '10.9.0.0/24', options: { [REPLAY]: 'true' }, v6: false }), { poolId: 'pool-1', pool: '10.9.0.0/24', meta: { a: '1' } });
  assert.equal((await again.requestAddress('pool-1', '10.9.0.2', { [REPLAY]: 'true' })).address, '10.9.0.2');
  assert.equal(p.seen.length, calls, 'nothing replayed to a plugin that keeps its own state');
});

test('weftd flags: --plugin-dir replaces the search directories, --plugin-timeout sets the deadline', () => {
  const empty = join(root, 'empty.json');
  writeFileSync(empty, '{}');
  const dflt = parseDaemonArgs(['--config-file', empty, '--exec-root', '/run/wx']);
  assert.deepEqual(dflt.pluginDirs, { sockets: ['/run/docker/plugins', '/run/wx/plugins'], specs: ['/etc/docker/plugins', '/usr/lib/docker/plugins', '/etc/weft/plugins', '/run/wx/plugins'] });
  assert.equal(dflt.pluginTimeoutMs, 30_000);
  const c = parseDaemonArgs(['--config-file', empty, '--plugin-dir', '/a', '--plugin-dir', '/b', '--plugin-timeout', '5']);
  assert.deepEqual(c.pluginDirs, { sockets: ['/a', '/b'], specs: ['/a', '/b'] });
  assert.equal(c.pluginTimeoutMs, 5000);
  assert.throws(() => parseDaemonArgs(['--config-file', empty, '--plugin-timeout', '0']), /invalid plugin-timeout "0"/);
  assert.throws(() => parseDaemonArgs(['--config-file', empty, '--plugin-dir', 'rel']), /must be an absolute path/);
});

test('node discovery: a plugin of global connectivity hears of live nodes (Self for this one), later ones, and those that go', async () => {
  const p = await fakePlugin('glob', {
    'Plugin.Activate': () => ({ body: { Implements: ['NetworkDriver'] } }),
    'NetworkDriver.GetCapabilities': () => ({ body: { Scope: 'local', ConnectivityScope: 'global' } }),
    'NetworkDriver.DiscoverNew': () => ({ body: {} }),
    'NetworkDriver.DiscoverDelete': () => ({ body: {} }),
  });
  const node = (id: string, addr: string, alive = true) => ({ id, addr, alive, role: 'none' as const, hostname: id });
  const cluster = Object.assign(new EventEmitter(), { nodeId: 'n1', nodes: () => [node('n1', '10.0.0.1'), node('n2', '10.0.0.2'), node('n3', '10.0.0.3', false)] });
  const drivers = new DriverRegistry();
  drivers.addResolver(networkPluginResolver(new PluginManager({ discovery: new PluginDiscovery({ sockets: [root], specs: [] }), timeoutMs: 1000, log }), { kernel: {} as Kernel, addressSpace: async () => '', log }));
  const stop = feedNodeDiscovery(cluster as unknown as Cluster, drivers, log);
  await drivers.resolve('glob');
  const discovered = async (n: number) => {
    const end = Date.now() + 3000;
    while (p.seen.filter((s) => s.method.startsWith('NetworkDriver.Discover')).length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return p.seen.filter((s) => s.method.startsWith('NetworkDriver.Discover')).map((s) => [s.method.slice('NetworkDriver.'.length), s.body.DiscoveryType, s.body.DiscoveryData.Address, s.body.DiscoveryData.Self]);
  };
  assert.deepEqual((await discovered(2)).sort(), [['DiscoverNew', 1, '10.0.0.1', true], ['DiscoverNew', 1, '10.0.0.2', false]]);
  cluster.emit('nodes', [node('n1', '10.0.0.1'), node('n3', '10.0.0.3')]);
  assert.deepEqual((await discovered(4)).slice(2).sort(), [['DiscoverDelete', 1, '10.0.0.2', false], ['DiscoverNew', 1, '10.0.0.3', false]]);
  stop();
});
