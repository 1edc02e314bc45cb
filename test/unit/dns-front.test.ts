import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// weft-dns that dies at once (a broken build, a missing library): the front end must neither
// spin respawning it nor leave listen() hanging. WEFT_DNS is read at the first spawn, so this
// file (its own test process) sets it before loading the front end.
const dir = mkdtempSync(join(tmpdir(), 'weft-dnsfront-'));
const fake = join(dir, 'weft-dns');
writeFileSync(fake, '#!/bin/sh\nprintf "\\000\\000"\nexit 3\n');
chmodSync(fake, 0o755);
process.env.WEFT_DNS = fake;
const { UdpFront } = await import('../../src/dns/front.js');

test('front: a weft-dns that keeps dying is restarted with backoff, then given up on; listen() rejects', async () => {
  const warnings: string[] = [];
  const lost: number[] = [];
  const log = { debug() {}, info() {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
  const front = new UdpFront(() => assert.fail('no query can arrive'), log, (id) => lost.push(id));
  try {
    const t0 = Date.now();
    await assert.rejects(front.listen(7, '127.0.0.1', 5353), (err: NodeJS.ErrnoException) => err.code === 'EIO' && /weft-dns exited/.test(err.message));
    const took = Date.now() - t0;
    assert.ok(took >= 1000 && took < 8000, `backed off between restarts, then gave up (${took} ms)`);
    assert.deepEqual(lost, [7]);
    assert.equal(warnings.filter((w) => w.startsWith('weft-dns is gone')).length, 4);
    assert.equal(warnings.filter((w) => w.startsWith('weft-dns keeps failing')).length, 1);
    assert.deepEqual(await front.stats(), { hits: 0, misses: 0, dropped: 0 });
  } finally {
    front.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
