import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { StoreEvent } from '../../src/store/types.js';

test('sqlite store: get/put/delete, versions, compare-and-set, watches in order', async () => {
  const store = new SqliteStore(new Database(':memory:'));
  const seen: StoreEvent[] = [];
  const unwatch = store.watch('networks/', (ev) => seen.push(ev));
  assert.equal(await store.get('networks/a'), null);
  const v1 = await store.put('networks/a', '{"n":1}');
  assert.ok(v1 > 1);
  assert.deepEqual(await store.get('networks/a'), { key: 'networks/a', value: '{"n":1}', version: v1 });
  assert.equal(await store.putIf('networks/a', '{"n":2}', v1 - 1), null, 'stale version refused');
  assert.equal(await store.putIf('networks/b', 'x', 5), null, 'absent key needs version 0');
  const v2 = await store.putIf('networks/a', '{"n":2}', v1);
  assert.ok(v2 !== null && v2 > v1);
  const vb = await store.putIf('networks/b', 'x', 0);
  assert.ok(vb !== null && vb > v2!);
  await store.put('containers/c', 'y');
  assert.deepEqual((await store.list('networks/')).map((kv) => kv.key).sort(), ['networks/a', 'networks/b']);
  assert.deepEqual((await store.list('networks/a')).map((kv) => kv.key), ['networks/a']);
  assert.equal(await store.deleteIf('networks/a', v1), false, 'stale delete refused');
  assert.equal(await store.deleteIf('networks/a', v2!), true);
  await store.delete('networks/b');
  await store.delete('networks/b'); // already gone: no event
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.key} ${e.value}`),
    ['put networks/a {"n":1}', 'put networks/a {"n":2}', 'put networks/b x', 'delete networks/a null', 'delete networks/b null'],
    'only the watched prefix, in order, no event for a refused or empty change',
  );
  assert.ok(seen.every((e, i) => i === 0 || e.version > seen[i - 1].version));
  unwatch();
  await store.put('networks/z', '1');
  assert.equal(seen.length, 5);
  await assert.rejects(store.put('no-slash', 'x'), /<collection>\/<id>/);
  await assert.rejects(store.put('Bad Name/x', 'x'), /invalid store collection/);
  await store.close();
});

test('sqlite store: rows of a database written before versions existed', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE networks (id TEXT PRIMARY KEY, doc TEXT NOT NULL)');
  db.prepare('INSERT INTO networks (id, doc) VALUES (?, ?)').run('old', '{"old":true}');
  const store = new SqliteStore(db);
  const kv = await store.get('networks/old');
  assert.equal(kv?.version, 1);
  assert.ok((await store.putIf('networks/old', '{}', 1))! > 1);
  await store.close();
});
