import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../../src/api/router.js';
import { createApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/common/log.js';

// The HTTP shell refuses what Node's parser or the size limits refuse with a status and a
// {"message"} body, like every other error (issue 11, bad input): before, such requests got an
// empty 400/431, or a reset connection for a body over the limit.

let dir: string;
let sock: string;
let server: Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-api-'));
  sock = join(dir, 'api.sock');
  const router = new Router()
    .add('GET', '/_ping', () => 'OK')
    .add('POST', '/echo', async (ctx) => ({ got: await ctx.body() }))
    .hijack('POST', '/attach', async (_ctx, h) => h.respond(200, {}));
  server = createApiServer(router, createLogger({ level: 'fatal' }));
  await new Promise<void>((r) => server.listen(sock, r));
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes, returns everything received until the server closes (or 3 s pass). */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(sock);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out + '[no close]');
    }, 3000);
    s.on('data', (b: Buffer) => (out += b.toString('latin1')));
    s.on('error', () => undefined); // EPIPE while we still write a refused body
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(bytes);
  });
}

function answer(text: string): { status: number; message: string | undefined; close: boolean } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const chunked = /transfer-encoding: chunked/i.test(text.slice(0, text.indexOf('\r\n\r\n')));
  const json = chunked ? body.split('\r\n')[1] : body;
  let message: string | undefined;
  try {
    message = (JSON.parse(json) as { message?: string }).message;
  } catch {
    message = undefined;
  }
  return { status, message, close: /\r\nconnection: close\r\n/i.test(text) };
}

test('parser errors: 400 with a message, connection closed', async () => {
  const cases: [string, string][] = [
    ['POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n', 'malformed HTTP request: Invalid character in chunk size'],
    ['GET /_ping HTTP/1.1\r\nBad Header\r\n\r\n', 'malformed HTTP request: Invalid header token'],
    ['BREW /_ping HTTP/1.1\r\nHost: d\r\n\r\n', 'malformed HTTP request: Invalid method encountered'],
    ['GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: abc\r\n\r\n', 'malformed HTTP request: Invalid character in Content-Length'],
    ['GET /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', "malformed HTTP request: Transfer-Encoding can't be present with Content-Length"],
    ['GET /_ping HTTP/9.9\r\nHost: d\r\n\r\n', 'malformed HTTP request: Invalid HTTP version'],
  ];
  for (const [req, message] of cases) assert.deepEqual(answer(await raw(req)), { status: 400, message, close: true }, JSON.stringify(req));
});

test('headers over the limit: 431 with a message', async () => {
  const r = answer(await raw(`GET /_ping HTTP/1.1\r\nHost: d\r\nX: ${'a'.repeat(100_000)}\r\n\r\n`));
  assert.deepEqual(r, { status: 431, message: 'request header fields too large', close: true });
});

test('HTTP/1.1 without Host: 400 with Go\'s text', async () => {
  assert.deepEqual(answer(await raw('GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n')), { status: 400, message: 'missing required Host header', close: true });
  assert.equal(answer(await raw('GET /_ping HTTP/1.0\r\n\r\n')).status, 200);
});

test('a malformed escape is a 400 on the same keep-alive connection', async () => {
  const r = await raw('GET /x/%zz HTTP/1.1\r\nHost: d\r\n\r\nGET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n');
  assert.equal(answer(r).status, 400);
  assert.match(r, /invalid URL escape \\"%zz\\"/);
  assert.match(r, /HTTP\/1\.1 200 OK[\s\S]*OK/);
});

test('a body over 16 MB is answered 400, then the connection is closed', async () => {
  const big = Buffer.alloc(17 * 1024 * 1024, 'a');
  const r = answer(await raw(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`), big])));
  assert.deepEqual(r, { status: 400, message: 'request body too large', close: true });
  // the server still serves
  assert.equal(answer(await raw('GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n')).status, 200);
});

test('an upgrade announcing a body over 16 MB is refused before reading it', async () => {
  const r = answer(await Promise.race([
    raw(`POST /attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${64 * 1024 * 1024 * 1024}\r\n\r\n{`),
    new Promise<string>((r) => setTimeout(() => r(''), 2000)),
  ]));
  assert.deepEqual({ status: r.status, message: r.message }, { status: 400, message: 'request body too large' });
});
