import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi } from '../../src/api/index.js';
import { intParam, parseSignal } from '../../src/api/params.js';
import { createApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/common/log.js';
import { WeftError } from '../../src/common/errors.js';
import { apiRequest } from '../helpers/daemons.js';
import { fakeEngine, type FakeWorld } from '../helpers/fake-engine.js';

// Answers the bad-input fuzzer found (issue 11, test/e2e/fuzz-api.test.ts): each was a 500, or a
// bad parameter silently replaced by a default; now the client's 4xx with dockerd's text.

const refused = (message: string) => (e: unknown) => e instanceof WeftError && e.status === 400 && e.message === message;

test('parseSignal: moby\'s ParseSignal and ValidSignalForPlatform', () => {
  assert.equal(parseSignal('KILL'), 'SIGKILL');
  assert.equal(parseSignal('sigterm'), 'SIGTERM');
  assert.equal(parseSignal('9'), '9');
  assert.equal(parseSignal('RTMIN+3'), 'SIGRTMIN+3');
  assert.throws(() => parseSignal('NOSUCH'), refused('Invalid signal: NOSUCH'));
  assert.throws(() => parseSignal('0'), refused('Invalid signal: 0'));
  assert.throws(() => parseSignal('99999'), refused('the linux daemon does not support signal 99999'));
  assert.throws(() => parseSignal('RTMIN+99'), refused('Invalid signal: RTMIN+99'));
});

test('intParam: Go\'s strconv.Atoi', () => {
  const q = new URLSearchParams('t=5&e=&bad=abc&f=1.5&huge=99999999999999999999');
  assert.equal(intParam(q, 't'), 5);
  assert.equal(intParam(q, 'e'), null);
  assert.equal(intParam(q, 'missing'), null);
  assert.throws(() => intParam(q, 'bad'), refused('strconv.Atoi: parsing "abc": invalid syntax'));
  assert.throws(() => intParam(q, 'f'), refused('strconv.Atoi: parsing "1.5": invalid syntax'));
  assert.throws(() => intParam(q, 'huge'), refused('strconv.Atoi: parsing "99999999999999999999": invalid syntax'));
});

let w: FakeWorld;
let server: Server;
let dir: string;
let sock: string;
let id: string;

before(async () => {
  w = await fakeEngine();
  dir = mkdtempSync(join(tmpdir(), 'weft-params-'));
  sock = join(dir, 'api.sock');
  server = createApiServer(buildApi(w.engine), createLogger({ level: 'fatal' }));
  await new Promise<void>((r) => server.listen(sock, r));
  const c = await apiRequest(sock, 'POST', '/containers/create?name=c1', { Image: 'alpine', Cmd: ['sleep', '100'] });
  assert.equal(c.status, 201, c.text);
  id = c.json.Id;
  const s = await apiRequest(sock, 'POST', `/containers/${id}/start`);
  assert.equal(s.status, 204, s.text);
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await w.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, path: string) => {
  const r = await apiRequest(sock, method, path);
  return { status: r.status, message: r.json?.message as string | undefined };
};

test('kill with an unknown signal is a 400 before anything is signalled (was runc\'s 500)', async () => {
  assert.deepEqual(await call('POST', '/containers/c1/kill?signal=NOSUCH'), { status: 400, message: 'Invalid signal: NOSUCH' });
  assert.deepEqual(await call('POST', '/containers/c1/kill?signal=99999'), { status: 400, message: 'the linux daemon does not support signal 99999' });
  assert.deepEqual(await call('POST', '/containers/c1/stop?signal=NOSUCH'), { status: 400, message: 'Invalid signal: NOSUCH' });
  assert.equal((await apiRequest(sock, 'GET', '/containers/c1/json')).json.State.Status, 'running');
});

test('stop/restart with a t that is no integer is a 400 (was stopped with the default)', async () => {
  assert.deepEqual(await call('POST', '/containers/c1/stop?t=abc'), { status: 400, message: 'strconv.Atoi: parsing "abc": invalid syntax' });
  assert.deepEqual(await call('POST', '/containers/c1/restart?t=1.5'), { status: 400, message: 'strconv.Atoi: parsing "1.5": invalid syntax' });
  assert.deepEqual(await call('POST', '/containers/c1/resize?h=abc&w=1'), { status: 400, message: 'strconv.Atoi: parsing "abc": invalid syntax' });
  assert.equal((await apiRequest(sock, 'GET', '/containers/c1/json')).json.State.Status, 'running');
});

test('container list: a name filter that is no regexp matches nothing (was a 500); an unknown status or limit is a 400', async () => {
  assert.deepEqual((await apiRequest(sock, 'GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["("]}')}`)).json, []);
  assert.equal((await apiRequest(sock, 'GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["c1"]}')}`)).json.length, 1);
  assert.deepEqual(await call('GET', `/containers/json?filters=${encodeURIComponent('{"status":["weird"]}')}`), { status: 400, message: 'Unrecognised filter value for status: weird' });
  assert.deepEqual(await call('GET', '/containers/json?limit=abc'), { status: 400, message: 'strconv.Atoi: parsing "abc": invalid syntax' });
});

test('disconnect from a network the container is not on is a 409 (dockerd and weft before: 500)', async () => {
  assert.equal((await apiRequest(sock, 'POST', '/networks/create', { Name: 'un1' })).status, 201);
  const r = await apiRequest(sock, 'POST', '/networks/un1/disconnect', { Container: 'c1', Force: false });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.json.message, `container ${id} is not connected to network un1`);
});
