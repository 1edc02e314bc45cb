import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt } from '../helpers/daemons.js';

// Docker endpoints of features weft does not have answer as a non-swarm dockerd 20.10 does
// (answers probed from the Debian dockerd here), or say what weft does not do: never a bare
// `page not found`. The small real ones (prune, tag, history, system df) work.

const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

test('unserved Docker endpoints: Docker\'s answers, or a clear refusal', { timeout: 120_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());

  await t.test('swarm objects: 503 not a swarm manager', async () => {
    for (const path of ['/services', '/tasks', '/secrets', '/configs', '/services/x']) {
      const r = await d.api('GET', path);
      assert.equal(r.status, 503, path);
      assert.equal(r.json.message, NOT_MANAGER);
    }
  });

  await t.test('volumes and plugins: none to list, find or prune', async () => {
    assert.deepEqual((await d.api('GET', '/volumes')).json, { Volumes: [], Warnings: null });
    const v = await d.api('GET', '/volumes/v1');
    assert.equal(v.status, 404);
    assert.equal(v.json.message, 'get v1: no such volume');
    assert.deepEqual((await d.api('POST', '/volumes/prune')).json, { VolumesDeleted: null, SpaceReclaimed: 0 });
    const create = await d.api('POST', '/volumes/create', { Name: 'v1' });
    assert.equal(create.status, 501);
    assert.match(create.json.message, /weft does not manage volumes/);
    assert.deepEqual((await d.api('GET', '/plugins')).json, []);
    assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, '');
  });

  await t.test('builds and registries: 501 saying why', async () => {
    for (const [method, path] of [['POST', '/build'], ['GET', '/images/search?term=x'], ['POST', '/auth'], ['GET', '/distribution/alpine/json']]) {
      const r = await d.api(method, path, method === 'POST' ? {} : undefined);
      assert.equal(r.status, 501, path);
      assert.match(r.json.message, /weft (has no|does not)/);
    }
    const build = await d.docker(['build', '-t', 'x', '-'], { input: 'FROM alpine\n' });
    assert.notEqual(build.code, 0);
  });

  await t.test('container features: 404 for a missing container first, then 501', async () => {
    assert.equal((await d.api('POST', '/containers/nope/pause')).status, 404);
    await d.dockerOk(['run', '-d', '--name', 'u1', 'alpine', 'sleep', '300']);
    const r = await d.api('POST', '/containers/u1/pause');
    assert.equal(r.status, 501);
    assert.equal(r.json.message, 'weft does not support pausing containers');
  });

  await t.test('prune, tag, history and system df are real', async () => {
    await d.dockerOk(['create', '--name', 'u2', 'alpine', 'true']);
    const pruned = await d.api('POST', '/containers/prune');
    assert.equal(pruned.status, 200);
    assert.equal(pruned.json.ContainersDeleted.length, 1);
    assert.equal((await d.api('GET', '/containers/u2/json')).status, 404);
    assert.equal((await d.api('GET', '/containers/u1/json')).status, 200, 'running containers stay');
    await d.dockerOk(['tag', 'alpine', 'mine/alpine:1']);
    assert.match(await d.dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}']), /mine\/alpine:1/);
    assert.equal((await d.api('POST', '/images/alpine/tag?repo=Bad%20Name')).status, 400);
    const history = await d.api('GET', '/images/alpine/history');
    assert.equal(history.json.length, 1);
    assert.deepEqual((await d.api('POST', '/images/prune')).json, { ImagesDeleted: null, SpaceReclaimed: 0 });
    const df = await d.dockerOk(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.match(df, /^Images \d+\nContainers 1\nLocal Volumes 0\nBuild Cache 0$/);
  });

  await t.test('unknown paths are still 404 page not found', async () => {
    const r = await d.api('GET', '/nothing/here');
    assert.equal(r.status, 404);
    assert.equal(r.json.message, 'page not found');
  });
});
