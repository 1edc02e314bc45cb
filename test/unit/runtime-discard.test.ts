import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discard, sweepDiscarded } from '../../src/runtime/discard.js';

// A removed container's directories: renamed aside at once, deleted in the background, and
// whatever a crash left renamed is swept at the next start.

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('discard: the name is free at once, the tree goes in the background', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-discard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const c = join(dir, 'c1');
  mkdirSync(join(c, 'upper/etc'), { recursive: true });
  writeFileSync(join(c, 'upper/etc/x'), 'x');
  discard(c);
  assert.equal(existsSync(c), false, 'gone under its own name before discard returns');
  await until(() => readdirSync(dir).length === 0);
  assert.deepEqual(readdirSync(dir), [], 'and deleted');
  discard(join(dir, 'never-made')); // nothing to do, no throw
});

test('sweepDiscarded deletes what a crash left renamed, and nothing else', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-discard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['c1.discarded-0123abcd', 'c2', 'c3.discarded-x']) mkdirSync(join(dir, name, 'sub'), { recursive: true });
  sweepDiscarded(dir);
  await until(() => !existsSync(join(dir, 'c1.discarded-0123abcd')));
  assert.deepEqual(readdirSync(dir).sort(), ['c2', 'c3.discarded-x']);
  sweepDiscarded(join(dir, 'missing')); // no throw
});
