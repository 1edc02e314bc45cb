import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';
import { Registry, type GlobalStore, type RemoteChange } from '../../src/engine/registry.js';
import type { NetworkRecord } from '../../src/common/model.js';
import { networkRecord, testId } from '../helpers/records.js';

// Two hosts' registries sharing one global store (standing in for etcd): global networks are
// written there and followed by the other host; local ones never leave their host.

function sharedGlobal(): GlobalStore {
  const s = new SqliteStore(new Database(':memory:')) as unknown as GlobalStore;
  s.listAt = async (prefix) => {
    const kvs = await s.list(prefix);
    return { kvs, revision: Math.max(0, ...kvs.map((k) => k.version)) };
  };
  return s;
}

test('registry: global networks go to the cluster store and reach the other host; local ones stay', async () => {
  const g = sharedGlobal();
  const a = new Registry(new SqliteStore(new Database(':memory:')));
  const b = new Registry(new SqliteStore(new Database(':memory:')));
  await Promise.all([a.load(), b.load()]);
  const ov = networkRecord({ id: testId(1, 'n'), name: 'ov', driver: 'overlay', scope: 'swarm' });
  const br = networkRecord({ id: testId(2, 'n'), name: 'br' });
  await assert.rejects(a.networks.put(ov), /not part of a cluster/);
  await a.attachGlobal(g);
  await b.attachGlobal(g);
  const seenA: RemoteChange<NetworkRecord>[] = [];
  const seenB: RemoteChange<NetworkRecord>[] = [];
  a.networks.onRemote((c) => seenA.push(c));
  b.networks.onRemote((c) => seenB.push(c));
  await a.networks.put(ov);
  await a.networks.put(br);
  assert.ok(b.networks.byId.has(ov.id), 'the other host follows the global network');
  assert.ok(!b.networks.byId.has(br.id), 'a local network stays on its host');
  assert.deepEqual((await g.list('networks/')).map((k) => k.key), [`networks/${ov.id}`]);
  assert.deepEqual(seenB.map((c) => `${c.type} ${c.doc.name}`), ['put ov']);
  assert.equal(seenA.length, 0, 'own writes are not remote changes');
  await b.networks.delete(ov.id);
  assert.ok(!a.networks.byId.has(ov.id));
  assert.deepEqual(seenA.map((c) => `${c.type} ${c.doc.name}`), ['delete ov']);
  // Leaving the cluster forgets its networks (and says so); a host joining later loads them.
  await a.networks.put({ ...ov, id: testId(3, 'n'), name: 'ov2' });
  const c = new Registry(new SqliteStore(new Database(':memory:')));
  await c.load();
  await c.attachGlobal(g);
  assert.deepEqual(c.networks.all().map((n) => n.name), ['ov2']);
  b.detachGlobal();
  assert.ok(!b.networks.byId.has(testId(3, 'n')));
  assert.deepEqual(seenB.map((c) => `${c.type} ${c.doc.name}`), ['put ov', 'put ov2', 'delete ov2']);
  assert.ok(a.networks.byId.has(br.id));
});
