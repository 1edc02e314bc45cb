import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPath } from '../../src/cli/client.js';
import { DEFAULT_HOST, parseHost, resolveHost } from '../../src/cli/host.js';

test('host resolution order: flag, WEFT_HOST, DOCKER_HOST, default', () => {
  const env = { WEFT_HOST: 'unix:///w.sock', DOCKER_HOST: 'unix:///d.sock' };
  assert.equal(resolveHost('unix:///f.sock', env), 'unix:///f.sock');
  assert.equal(resolveHost(undefined, env), 'unix:///w.sock');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///d.sock' }), 'unix:///d.sock');
  assert.equal(resolveHost(undefined, { WEFT_HOST: '' }), DEFAULT_HOST);
  assert.equal(DEFAULT_HOST, 'unix:///run/weft/weft.sock');
});

test('host parsing', () => {
  assert.deepEqual(parseHost('unix:///run/weft/weft.sock'), { kind: 'unix', socketPath: '/run/weft/weft.sock', url: 'unix:///run/weft/weft.sock' });
  assert.equal((parseHost('/tmp/x.sock') as { socketPath: string }).socketPath, '/tmp/x.sock');
  assert.deepEqual(parseHost('tcp://10.0.0.1:2376'), { kind: 'tcp', host: '10.0.0.1', port: 2376, url: 'tcp://10.0.0.1:2376' });
  assert.equal((parseHost('tcp://[::1]:80') as { host: string }).host, '::1');
  assert.throws(() => parseHost('ssh://x'), /unsupported protocol/);
});

test('API paths carry the version and encode queries', () => {
  assert.equal(buildPath('/networks/create'), '/v1.41/networks/create');
  assert.equal(buildPath('/x', { a: true, b: undefined, c: 'k=v', d: ['1', '2'] }), '/v1.41/x?a=1&c=k%3Dv&d=1&d=2');
});
