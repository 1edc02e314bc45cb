import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { IMAGES_DIR, startDaemon, weftdBuilt } from '../helpers/daemons.js';

// The host and none networks through the real docker CLI against weftd.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('host network: the seed\'s nginx command serves on localhost:80 of the daemon\'s namespace', { timeout: 90_000 }, async (t) => {
  if (!weftdBuilt()) return t.skip('weftd is not built');
  if (!existsSync(join(IMAGES_DIR, 'nginx.tar'))) {
    return t.skip('images/nginx.tar missing: apt-get install nginx-light, then bash scripts/build-images.sh images');
  }
  const d = await startDaemon('weft');
  t.after(() => d.stop());

  const run = await d.docker(['run', '--rm', '-d', '--network', 'host', '--name', 'my_nginx', 'nginx']);
  assert.equal(run.code, 0, `${run.stderr}\n${d.logTail(10)}`);
  // Debian's busybox wget segfaults with -T: bound it with timeout(1) instead.
  const get = () => spawnSync('nsenter', [`--net=${d.netns.path}`, 'timeout', '5', 'busybox', 'wget', '-qO-', 'http://localhost:80/'], { encoding: 'utf8' });
  let page = get();
  for (let i = 0; i < 50 && page.status !== 0; i++) {
    await sleep(100);
    page = get();
  }
  assert.equal(page.status, 0, `wget failed: ${page.stderr}\nlogs: ${(await d.docker(['logs', 'my_nginx'])).stderr}`);
  assert.match(page.stdout, /Welcome to nginx!/);
  assert.match((await d.docker(['logs', 'my_nginx'])).stdout, /"GET \/ HTTP\/1\.1" 200/, 'access log goes to stdout');
  const ps = await d.docker(['exec', 'my_nginx', 'ps']);
  assert.match(ps.stdout, /www-data .*nginx: worker process/);

  const stop = await d.docker(['stop', 'my_nginx']);
  assert.equal(stop.code, 0, stop.stderr);
  for (let i = 0; i < 50 && (await d.docker(['ps', '-aq'])).stdout.trim() !== ''; i++) await sleep(100);
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', '--rm removed it');
  assert.notEqual(get().status, 0, 'nothing listens on :80 any more');
});

test('none network: the container has only lo', { timeout: 60_000 }, async (t) => {
  if (!weftdBuilt()) return t.skip('weftd is not built');
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const r = await d.docker(['run', '--rm', '--network', 'none', 'alpine', 'ip', '-o', 'link']);
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim());
  assert.deepEqual(names, ['lo']);
  const route = await d.docker(['run', '--rm', '--network', 'none', 'alpine', 'ip', 'route']);
  assert.equal(route.stdout.trim(), '');
});
