import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { daemonKinds, startDaemon, weftdBuilt } from '../helpers/daemons.js';

// The harness itself: start, run a container, kill -9, restart, stop, and nothing left behind.

for (const kind of daemonKinds()) {
  test(`harness: ${kind} daemon start / kill9 / restart / stop leaves nothing behind`, { timeout: 120_000 }, async (t) => {
    if (kind === 'weft' && !weftdBuilt()) {
      // Fails loudly (not a hang) so that a missing weftd is visible.
      await assert.rejects(startDaemon('weft'), /weftd cannot start/);
      return;
    }
    const d = await startDaemon(kind);
    t.after(() => d.stop());
    const run = await d.docker(['run', '-d', '--name', 'h1', 'alpine', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const ps = await d.docker(['ps', '--format', '{{.Names}}']);
    assert.match(ps.stdout, /h1/);
    await d.kill9();
    await d.restart();
    const again = await d.api('GET', '/containers/json?all=1');
    assert.equal(again.status, 200);
    await d.stop();
    assert.ok(!existsSync(d.socket), 'socket removed');
    assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(d.netns.name), 'netns removed');
  });
}
