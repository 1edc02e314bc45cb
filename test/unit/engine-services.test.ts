import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../src/common/events.js';
import { WeftError } from '../../src/common/errors.js';
import { BRIDGE_LIKE, FakeDriver, fakeEngine } from '../helpers/fake-engine.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';

// The network, sandbox and connection services with fake drivers, kernel and runtime: which
// driver calls they make and in what order, what the records and IPAM hold, which events they
// emit, and that they never look at a driver's name.

const kinds = (evs: EngineEvent[]) => evs.map((e) => `${e.type} ${e.action}${'container' in e && e.type === 'network' ? ` ${e.container.name}` : ''}`);

test('network create/rm: prepare then create, pools from IPAM, events; a failing create leaves nothing', async (t) => {
  const w = await fakeEngine([new FakeDriver('custom', BRIDGE_LIKE)]);
  t.after(() => w.close());
  const events: EngineEvent[] = [];
  w.engine.events.subscribe((e) => events.push(e));
  const net = await w.engine.networks.create({ Name: 'n1', Driver: 'custom' });
  assert.deepEqual(w.fakes.custom.calls.map((c) => c.op), ['prepare', 'create']);
  assert.equal(net.driverState.prepared, 'yes');
  assert.match(net.ipam.config[0].Subnet, /^172\.18\.0\.0\/16$/);
  w.fakes.custom.failNext = 'create';
  await assert.rejects(w.engine.networks.create({ Name: 'n2', Driver: 'custom' }), /create failed/);
  assert.equal(w.engine.registry.lookupNetwork('n2'), undefined, 'no record left');
  const again = await w.engine.networks.create({ Name: 'n2', Driver: 'custom' });
  assert.equal(again.ipam.config[0].Subnet, '172.20.0.0/16', 'the failed network gave its pool back (the cursor moved on, as Docker\'s does)');
  await w.engine.networks.remove('n1');
  assert.deepEqual(w.fakes.custom.calls.at(-1)?.op, 'delete');
  assert.deepEqual(kinds(events), ['network create', 'network create', 'network destroy']);
});

test('capabilities decide: a singleton driver refuses a second network; no IPAM for drivers without it', async (t) => {
  const single = new FakeDriver('solo', { ...BRIDGE_LIKE, singleton: true });
  const noIpam = new FakeDriver('bare', { ...BRIDGE_LIKE, ipam: false });
  const w = await fakeEngine([single, noIpam]);
  t.after(() => w.close());
  await assert.rejects(w.engine.networks.create({ Name: 's', Driver: 'solo' }), (e: unknown) => e instanceof WeftError && e.status === 403 && /only one instance of "solo"/.test(e.message));
  const bare = await w.engine.networks.create({ Name: 'b', Driver: 'bare' });
  assert.deepEqual(bare.ipam.config, []);
  assert.equal(w.engine.ipam.has(bare.id), false);
});

test('a driver activated at its first use, once, and one nobody has', async (t) => {
  const w = await fakeEngine();
  t.after(() => w.close());
  let activations = 0;
  w.drivers.addResolver(async (name) => {
    if (name !== 'late') return null;
    activations++;
    await new Promise((r) => setTimeout(r, 20));
    return new FakeDriver('late', BRIDGE_LIKE);
  });
  const [a, b] = await Promise.all([w.engine.networks.create({ Name: 'l1', Driver: 'late' }), w.engine.networks.create({ Name: 'l2', Driver: 'late' })]);
  assert.equal(activations, 1);
  assert.equal(a.driver, 'late');
  assert.equal(b.driver, 'late');
  await assert.rejects(w.engine.networks.create({ Name: 'x', Driver: 'nobody' }), (e: unknown) => e instanceof WeftError && e.status === 404 && e.message === 'plugin "nobody" not found');
});

test('container life cycle: sandbox, joins in order with the default route on the first, ports only where published, events in Docker order', async (t) => {
  const quiet = new FakeDriver('quiet', { ...BRIDGE_LIKE, publishesPorts: false });
  const w = await fakeEngine([quiet]);
  t.after(() => w.close());
  await w.engine.networks.create({ Name: 'front', Driver: 'quiet' });
  await w.engine.networks.create({ Name: 'back', Driver: 'bridge', Internal: true });
  const events: EngineEvent[] = [];
  w.engine.events.subscribe((e) => events.push(e));
  const c = await w.engine.containers.create(
    { Image: 'alpine', Cmd: ['sleep', '1'], HostConfig: { NetworkMode: 'back', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }, NetworkingConfig: { EndpointsConfig: { back: {}, front: {} } } },
    'c1',
  );
  await w.engine.containers.start(c.id);
  assert.equal(w.namespaces.size, 1, 'one sandbox');
  const joins = [...w.fakes.bridge.calls, ...quiet.calls].filter((x) => x.op === 'join');
  assert.deepEqual(joins.map((j) => [j.network, j.defaultRoute]), [['back', false], ['front', true]], 'an internal network gives no default route');
  const eps = w.engine.registry.endpointsOfContainer(c.id);
  assert.equal(eps.find((e) => e.networkId === w.engine.registry.findNetwork('front').id)?.ports, undefined, 'the gateway endpoint\'s driver does not publish ports');
  await w.engine.connections.disconnect('front', 'c1');
  assert.equal(w.engine.registry.endpointsOfContainer(c.id).length, 1);
  await w.engine.containers.remove(c.id, true);
  assert.equal(w.namespaces.size, 0, 'the sandbox is gone');
  assert.equal(w.engine.registry.endpoints.byId.size, 0);
  assert.deepEqual(kinds(events), [
    'container create',
    'network connect c1',
    'network connect c1',
    'container start',
    'network disconnect c1',
    'container kill',
    'container die',
    'network disconnect c1',
    'container destroy',
  ]);
});

test('connect refuses by sandbox kind (host, none), not by driver name', async (t) => {
  const w = await fakeEngine();
  t.after(() => w.close());
  await w.engine.networks.create({ Name: 'n', Driver: 'bridge' });
  const h = await w.engine.containers.create({ Image: 'alpine', Cmd: ['true'], HostConfig: { NetworkMode: 'host' } }, 'hh');
  await assert.rejects(w.engine.connections.connect('n', 'hh', null), /sharing network namespace with another container or host/);
  const none = await w.engine.containers.create({ Image: 'alpine', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, 'zz');
  await assert.rejects(w.engine.connections.connect('n', none.id, null), /private \(none\) mode/);
  assert.equal(w.engine.sandboxes.kind(h), 'host');
  assert.equal(w.engine.sandboxes.kind(none), 'isolated');
});

test('settings a driver chose at join (a plugin\'s address with the null IPAM, its gateway) are recorded and announced', async (t) => {
  class Choosing extends FakeDriver {
    override async join(net: NetworkRecord, ep: EndpointRecord, netns: string, opts: { defaultRoute: boolean }) {
      await super.join(net, ep, netns, opts);
      return ep.ipv4 ? undefined : { ipv4: '10.66.0.7/24', mac: '02:42:0a:42:00:07', gateway4: '10.66.0.1' };
    }
  }
  const w = await fakeEngine([new Choosing('chooser', BRIDGE_LIKE)]);
  t.after(() => w.close());
  await w.engine.networks.create({ Name: 'own', Driver: 'chooser', IPAM: { Driver: 'null' } });
  const connected: EndpointRecord[] = [];
  w.engine.events.subscribe((e) => {
    if (e.type === 'network' && e.action === 'connect') connected.push(e.endpoint);
  });
  const c = await w.engine.containers.create({ Image: 'alpine', Cmd: ['sleep', '1'], HostConfig: { NetworkMode: 'own' } }, 'q1');
  await w.engine.containers.start(c.id);
  const [ep] = w.engine.registry.endpointsOfContainer(c.id);
  assert.deepEqual([ep?.ipv4, ep?.mac, ep?.gateway4], ['10.66.0.7/24', '02:42:0a:42:00:07', '10.66.0.1']);
  assert.equal(connected[0]?.ipv4, '10.66.0.7/24', 'the connect event (the DNS table) has the chosen address');
  await w.engine.containers.remove(c.id, true);
  assert.equal(w.engine.registry.endpoints.byId.size, 0);
});
