import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notFound } from '../../src/common/errors.js';
import { dropContainersWithoutRuntime, settleConnections, type RecoveryDeps } from '../../src/engine/recovery.js';
import { fakeEngine, type FakeWorld } from '../helpers/fake-engine.js';

// The repairs a restart makes after a crash between a record write and its kernel work (found by
// test/e2e/crash-consistency.test.ts; end to end in crash-repairs.test.ts), on the fake engine.

const deps = (w: FakeWorld): RecoveryDeps => ({ registry: w.engine.registry, runtime: w.engine.runtime, sandboxes: w.engine.sandboxes, containers: w.engine.containers, log: w.engine.opts.log });
const netsOfEndpoints = (w: FakeWorld, id: string) => w.engine.registry.endpointsOfContainer(id).map((e) => w.engine.registry.networks.byId.get(e.networkId)!.name).sort();

test('a connect cut short is finished, a disconnect cut short too', async (t) => {
  const w = await fakeEngine();
  t.after(() => w.close());
  const a = await w.engine.networks.create({ Name: 'net-a' });
  const b = await w.engine.networks.create({ Name: 'net-b' });
  const c1 = await w.engine.containers.create({ Image: 'alpine', Cmd: ['sleep', '1'], HostConfig: { NetworkMode: 'net-a' } }, 'c1');
  const c2 = await w.engine.containers.create({ Image: 'alpine', Cmd: ['sleep', '1'], HostConfig: { NetworkMode: 'net-a' } }, 'c2');
  await w.engine.containers.start(c1.id);
  await w.engine.containers.start(c2.id);
  await w.engine.connections.connect('net-b', 'c2', null);

  // As a kill after the record write leaves them: c1 lists net-b without an endpoint there; c2
  // has an endpoint on net-b that its record no longer lists.
  c1.networks.push({ ...c1.networks[0], networkId: b.id, aliases: [] });
  await w.engine.registry.containers.put(c1);
  c2.networks = c2.networks.filter((x) => x.networkId !== b.id);
  await w.engine.registry.containers.put(c2);
  const before = w.fakes.bridge.calls.length;

  await settleConnections(deps(w), [c1, c2]);
  assert.deepEqual(netsOfEndpoints(w, c1.id), ['net-a', 'net-b'], 'c1 joined net-b');
  assert.deepEqual(netsOfEndpoints(w, c2.id), ['net-a'], 'c2 left net-b');
  assert.deepEqual(w.fakes.bridge.calls.slice(before).map((x) => `${x.op} ${x.network}`).sort(), ['join net-b', 'leave net-b']);
  assert.ok(w.engine.registry.endpointsOfContainer(c1.id).every((e) => e.networkId === a.id || e.ipv4), 'with an address');

  // A join that fails at the restart undoes the connect instead.
  c2.networks.push({ ...c2.networks[0], networkId: b.id, aliases: [] });
  await w.engine.registry.containers.put(c2);
  w.fakes.bridge.failNext = 'join';
  await settleConnections(deps(w), [c2]);
  assert.deepEqual(c2.networks.map((x) => x.networkId), [a.id], 'dropped from the record');
  assert.deepEqual(netsOfEndpoints(w, c2.id), ['net-a']);
});

test('a container without runtime files (create or rm cut short) loses its record, and what was left of its files', async (t) => {
  const w = await fakeEngine();
  t.after(() => w.close());
  const kept = await w.engine.containers.create({ Image: 'alpine', Cmd: ['sleep', '1'] }, 'kept');
  const lost = await w.engine.containers.create({ Image: 'alpine', Cmd: ['sleep', '1'] }, 'lost');
  const removed: string[] = [];
  const status = w.runtime.status.bind(w.runtime);
  w.runtime.status = async (id: string) => {
    if (id === lost.id) throw notFound(`No such container: ${id}`);
    return status(id);
  };
  w.runtime.remove = async (id?: string) => void removed.push(id!);
  await dropContainersWithoutRuntime(deps(w));
  assert.deepEqual(w.engine.registry.containers.all().map((c) => c.name), ['kept']);
  assert.deepEqual(removed, [lost.id], "the runtime's leftovers removed");
  assert.ok(w.engine.registry.containers.byId.has(kept.id));
});
