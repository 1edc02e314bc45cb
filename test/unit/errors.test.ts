import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_KINDS, WeftError, statusOf, type ErrorKind } from '../../src/common/errors.js';

// The error table is the one place a kind's status is decided: every kind is mapped to an HTTP
// error status, documented, and listed with the same status in README's table.

test('every error kind is mapped, documented here and in README', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const [kind, { status, doc }] of Object.entries(ERROR_KINDS) as [ErrorKind, { status: number; doc: string }][]) {
    assert.ok(status >= 400 && status <= 599, `${kind}: ${status}`);
    assert.ok(doc.length > 20, `${kind} is documented`);
    assert.equal(new WeftError(kind, 'x').status, status);
    assert.equal(statusOf(new WeftError(kind, 'x')), status);
    assert.match(readme, new RegExp(`^\\| ${kind} \\| ${status} \\| .+ \\|$`, 'm'), `README's error table lists ${kind} as ${status}`);
  }
  assert.equal(statusOf(new Error('stray')), 500, 'anything else is a 500');
  const statuses = Object.values(ERROR_KINDS).map((k) => k.status);
  assert.equal(new Set(statuses).size, statuses.length, 'one kind per status');
});
