import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/api/router.js';
import { WeftError } from '../../src/common/errors.js';

// The router reads the request target as sent (issue 11, bad input): a malformed escape is the
// client's 400, never a 500 "URI malformed"; dot segments are not resolved into another route.

const router = new Router()
  .add('GET', '/networks/{id}', () => null)
  .add('GET', '/containers/json', () => null)
  .add('GET', '/images/{name*}/json', () => null);

const refused = (message: string) => (err: unknown) => err instanceof WeftError && err.status === 400 && err.message === message;
const hit = (url: string) => {
  const h = router.match('GET', url);
  return h === null || h === 'method' ? h : { params: h.params, version: h.version, query: Object.fromEntries(h.query) };
};

test('a malformed escape in the path or the query is a 400 with Go\'s text', () => {
  assert.throws(() => router.match('GET', '/networks/%zz'), refused('invalid URL escape "%zz"'));
  assert.throws(() => router.match('GET', '/v1.41/networks/ab%'), refused('invalid URL escape "%"'));
  assert.throws(() => router.match('GET', '/networks/a%4'), refused('invalid URL escape "%4"'));
  assert.throws(() => router.match('GET', '/containers/json?all=%g1'), refused('invalid URL escape "%g1"'));
});

test('escapes decode to bytes; bytes that are not UTF-8 are no error', () => {
  assert.deepEqual(hit('/networks/a%2Fb'), { params: { id: 'a/b' }, version: '1.45', query: {} });
  assert.deepEqual(hit('/networks/%ff'), { params: { id: '\ufffd' }, version: '1.45', query: {} });
  assert.deepEqual(hit('/networks/%C3%A9'), { params: { id: 'é' }, version: '1.45', query: {} });
  assert.deepEqual(hit('/images/library%2Falpine/json'), { params: { name: 'library/alpine' }, version: '1.45', query: {} });
});

test('dot segments and double slashes reach no other route', () => {
  assert.equal(hit('/networks/../containers/json'), null);
  assert.equal(hit('/networks/%2e%2e/containers/json'), null);
  assert.equal(hit('/v1.41/../containers/json'), null);
  assert.equal(hit('//containers/json'), null);
  assert.deepEqual(hit('/networks/..'), { params: { id: '..' }, version: '1.45', query: {} });
});

test('query and absolute-form targets', () => {
  assert.deepEqual(hit('/v1.41/containers/json?all=1&filters=%7B%7D'), { params: {}, version: '1.41', query: { all: '1', filters: '{}' } });
  assert.deepEqual(hit('http://docker/v1.41/containers/json?all=1'), { params: {}, version: '1.41', query: { all: '1' } });
});
