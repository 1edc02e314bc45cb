import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// weftd's safety net, in a process of its own (it handles uncaught errors process-wide): an error
// that escapes a handler answers that request with a 500 {"message"} (or drops its connection if
// the answer had begun), is logged with a count, and the server keeps serving.

function get(socketPath: string, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

test('safety net: a stray error fails its own request with a 500 and is counted; the server lives', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-net-'));
  const sock = join(dir, 'api.sock');
  const child = spawn(process.execPath, [new URL('./fixtures/stray-server.js', import.meta.url).pathname, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));

  assert.deepEqual(await get(sock, '/stray-throw'), { status: 500, body: '{"message":"boom in a callback"}\n' });
  assert.deepEqual(await get(sock, '/stray-rejection'), { status: 500, body: '{"message":"nobody awaited this"}\n' });
  const mid = await get(sock, '/stray-mid-stream');
  assert.ok('error' in mid, `a begun stream is dropped, not completed: ${JSON.stringify(mid)}`);
  assert.deepEqual(await get(sock, '/sync-throw'), { status: 500, body: '{"message":"plain bug"}\n' });
  assert.deepEqual(await get(sock, '/ok'), { status: 200, body: '{"ok":true}\n' });
  assert.equal(child.exitCode, null, 'still running');

  const caught = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'safetyNet' in l);
  assert.deepEqual(caught.map((l) => [l.safetyNet, l.kind, l.url]), [
    [1, 'uncaughtException', '/stray-throw'],
    [2, 'unhandledRejection', '/stray-rejection'],
    [3, 'uncaughtException', '/stray-mid-stream'],
  ], 'the handled throw (/sync-throw) is an ordinary failed request, not a stray one');
});
