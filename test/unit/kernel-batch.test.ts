import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf, parseBatchFailures } from '../../src/kernel/batch.js';
import { excused, isExists, isGone, type Step } from '../../src/kernel/types.js';

test('ip -force -batch stderr maps back to lines, and to the errno the agent would report', () => {
  const lines = ['link add br-t type bridge', 'link set br-t up', 'link del nonexist', 'link add x type dummy'];
  const stderr = 'RTNETLINK answers: File exists\nCommand failed -:1\nCannot find device "nonexist"\nCommand failed -:3\nError: Unknown device type.\nCommand failed -:4\n';
  const f = parseBatchFailures(stderr, lines);
  assert.deepEqual(f, [
    { line: 1, command: lines[0], error: 'RTNETLINK answers: File exists' },
    { line: 3, command: lines[2], error: 'Cannot find device "nonexist"' },
    { line: 4, command: lines[3], error: 'Error: Unknown device type.' },
  ]);
  assert.deepEqual(f.map((x) => codeOf(x.error)), ['EEXIST', 'ENODEV', 'EOPNOTSUPP']);
  assert.equal(codeOf('RTNETLINK answers: No such process'), 'ESRCH');
  assert.equal(codeOf('RTNETLINK answers: Cannot assign requested address'), 'EADDRNOTAVAIL');
  assert.equal(codeOf('Device "x" does not exist.'), 'ENODEV');
  assert.equal(codeOf('something else'), 'EIO');
});

test('tolerance: exists, gone, any', () => {
  assert.ok(isExists({ code: 'EEXIST' }) && !isExists({ code: 'ENODEV' }));
  for (const code of ['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL']) assert.ok(isGone({ code }), code);
  assert.ok(!isGone({ code: 'EEXIST' }));
  const del = { op: 'link.del', name: 'x', tolerate: 'gone' } as const;
  assert.ok(excused(del, 'ENODEV') && !excused(del, 'EEXIST') && !excused(del, 'EPERM'));
  const add: Step = { op: 'link.add', name: 'x', kind: 'bridge', tolerate: ['exists', 'gone'] };
  assert.ok(excused(add, 'EEXIST') && excused(add, 'ENOENT'));
  assert.ok(excused({ op: 'link.set', name: 'x', up: false, tolerate: 'any' }, 'EPERM'));
  assert.ok(!excused({ op: 'link.set', name: 'x', up: false }, 'ENODEV'));
});
