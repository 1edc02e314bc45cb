import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDaemonArgs } from '../../src/daemon/config.js';

// dockerd's (pre-20.10) cluster-store flags and daemon.json keys, for etcd.

const dir = mkdtempSync(join(tmpdir(), 'weft-config-cs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const empty = join(dir, 'empty.json');
writeFileSync(empty, '{}');
const ca = join(dir, 'ca.pem');
writeFileSync(ca, 'x');
const parse = (...args: string[]) => parseDaemonArgs(['--config-file', empty, ...args]);

test('--cluster-store, --cluster-advertise and --cluster-store-opt', () => {
  assert.equal(parse().clusterStore, undefined);
  const c = parse('--cluster-store', 'etcd://h1:2379,h2:2379', '--cluster-advertise', '10.0.0.1:2376', '--cluster-store-opt', 'discovery.ttl=1m30s');
  assert.deepEqual(c.clusterStore, { endpoints: ['http://h1:2379', 'http://h2:2379'], tls: undefined, advertise: '10.0.0.1:2376', ttlSeconds: 90 });
  const t = parse('--cluster-store', 'etcd://h1:2379', '--cluster-advertise', 'eth0:2376', '--cluster-store-opt', `kv.cacertfile=${ca}`, '--cluster-store-opt', `kv.certfile=${ca}`, '--cluster-store-opt', `kv.keyfile=${ca}`);
  assert.deepEqual(t.clusterStore?.endpoints, ['https://h1:2379']);
  assert.deepEqual(t.clusterStore?.tls, { caFile: ca, certFile: ca, keyFile: ca });
});

test('daemon.json keys cluster-store, cluster-advertise, cluster-store-opts', () => {
  const f = join(dir, 'cs.json');
  writeFileSync(f, JSON.stringify({ 'cluster-store': 'etcd://h1:2379', 'cluster-advertise': '10.0.0.1:2376', 'cluster-store-opts': { 'discovery.ttl': '20s' } }));
  const c = parseDaemonArgs(['--config-file', f]);
  assert.equal(c.clusterStore?.ttlSeconds, 20);
  assert.throws(() => parseDaemonArgs(['--config-file', f, '--cluster-store-opt', 'discovery.ttl=5s']), /cluster-store-opts: \(from flag: map\[discovery.ttl:5s\], from file: map\[discovery.ttl:20s\]\)/);
});

test('refusals name what is wrong', () => {
  assert.throws(() => parse('--cluster-advertise', '10.0.0.1:2376'), /--cluster-advertise must be accompanied by --cluster-store/);
  assert.throws(() => parse('--cluster-store', 'consul://h1:8500', '--cluster-advertise', '10.0.0.1:2376'), /weft supports etcd only \(not consul\)/);
  assert.throws(() => parse('--cluster-store', 'etcd://h1', '--cluster-advertise', '10.0.0.1:2376'), /"h1" is not host:port/);
  assert.throws(() => parse('--cluster-store', 'etcd://h1:2379', '--cluster-advertise', 'a:1', '--cluster-store-opt', 'kv.nope=1'), /unknown option kv.nope/);
  assert.throws(() => parse('--cluster-store', 'etcd://h1:2379', '--cluster-advertise', 'a:1', '--cluster-store-opt', 'discovery.ttl=soon'), /invalid duration "soon"/);
  assert.throws(() => parse('--cluster-store', 'etcd://h1:2379', '--cluster-advertise', 'a:1', '--cluster-store-opt', 'kv.cacertfile=/nonexistent'), /no such file/);
});
