import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilters } from '../../src/engine/filters.js';
import { WeftError } from '../../src/common/errors.js';

// Docker's `filters` parameter: {"key": {"value": true}} or the legacy {"key": ["value"]}.
// Anything else is refused (issue 11): weft used to read {"label": "x"} as no filter at all, so
// a prune with it removed everything.

test('both of Docker\'s shapes, and null values', () => {
  assert.deepEqual([...parseFilters('{"label":{"a=b":true},"name":["x","y"],"until":null}')], [['label', ['a=b']], ['name', ['x', 'y']], ['until', []]]);
  assert.deepEqual([...parseFilters('')], []);
});

test('other shapes are a 400', () => {
  for (const raw of ['{"label":"x"}', '{"label":{"x":"yes"}}', '{"label":[1]}', '{"label":5}', '[]', '"x"', 'nope', '{"a":[["x"]]}']) {
    assert.throws(() => parseFilters(raw), (e: unknown) => e instanceof WeftError && e.status === 400 && e.message === `invalid filter: ${raw}`, raw);
  }
});
