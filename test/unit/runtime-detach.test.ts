import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachScanner, parseDetachKeys } from '../../src/runtime/detach.js';

test('parses detach key specs', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,a,ctrl-[')], [0, 97, 27]);
  assert.throws(() => parseDetachKeys('ctrl-p,foo'), /Invalid detach keys/);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys/);
});

test('detects the sequence, drops it, keeps the rest', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.feed(Buffer.from('ls\n')), { forward: Buffer.from('ls\n'), detached: false });
  assert.deepEqual(s.feed(Buffer.from([0x61, 0x10, 0x11, 0x62])), { forward: Buffer.from('a'), detached: true });
});

test('sequence split across chunks', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.feed(Buffer.from([0x78, 0x10])), { forward: Buffer.from('x'), detached: false });
  assert.deepEqual(s.feed(Buffer.from([0x11])), { forward: Buffer.alloc(0), detached: true });
});

test('broken sequence releases held bytes', () => {
  const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
  assert.deepEqual(s.feed(Buffer.from([0x10])), { forward: Buffer.alloc(0), detached: false });
  assert.deepEqual(s.feed(Buffer.from([0x61])), { forward: Buffer.from([0x10, 0x61]), detached: false });
  // ctrl-p ctrl-p ctrl-q: first ctrl-p is passed on, the second starts the match
  assert.deepEqual(s.feed(Buffer.from([0x10, 0x10, 0x11])), { forward: Buffer.from([0x10]), detached: true });
});
