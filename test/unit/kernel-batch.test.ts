import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExists, isGone, parseBatchFailures } from '../../src/kernel/batch.js';

test('ip -force -batch stderr maps back to lines', () => {
  const lines = ['link add br-t type bridge', 'link set br-t up', 'link del nonexist', 'link add x type dummy'];
  const stderr = 'RTNETLINK answers: File exists\nCommand failed -:1\nCannot find device "nonexist"\nCommand failed -:3\nError: Unknown device type.\nCommand failed -:4\n';
  const f = parseBatchFailures(stderr, lines);
  assert.deepEqual(f, [
    { line: 1, command: lines[0], error: 'RTNETLINK answers: File exists' },
    { line: 3, command: lines[2], error: 'Cannot find device "nonexist"' },
    { line: 4, command: lines[3], error: 'Error: Unknown device type.' },
  ]);
  assert.ok(isExists(f[0]));
  assert.ok(isGone(f[1]));
  assert.ok(!isGone(f[2]) && !isExists(f[2]));
});
