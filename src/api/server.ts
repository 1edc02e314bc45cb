import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../common/log.js';
import { invalid, notFound, statusOf, WeftError } from '../common/errors.js';
import type { Ctx, Hijacked, Router } from './router.js';
import { commonHeaders, plainHijack, readUpgradeBody, upgradeError, upgradeHijack } from './hijack.js';
import { ClientGone, runInScope, type RequestScope } from './scope.js';

// The HTTP shell around the router: Docker's headers, JSON bodies, {"message"} errors with the
// status of the error's kind, and the two ways clients take over a connection (upgrade or not).
// Each request runs in its own scope (scope.ts): whatever goes wrong in it, or whenever its client
// leaves, that request ends and nothing else does.

const MAX_JSON_BODY = 16 * 1024 * 1024;

/**
 * A body over the limit is refused with a 400 that closes the connection; the rest of the body is
 * read and dropped meanwhile (destroying the request at once would reset the connection before
 * the client could read the answer).
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) return;
      if (size <= MAX_JSON_BODY) chunks.push(c);
      else {
        over = true;
        chunks.length = 0;
        res.shouldKeepAlive = false;
        reject(invalid('request body too large'));
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => reject(new ClientGone())); // after 'end' this is a no-op
  });
}

function parseJson<T>(buf: Buffer): T {
  const text = buf.toString('utf8').trim();
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
}

function errorBody(err: unknown): { status: number; body: string } {
  const message = err instanceof WeftError ? err.message : String((err as Error)?.message ?? err);
  return { status: statusOf(err), body: JSON.stringify({ message }) };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.destroyed) return;
  if (status === 204 || status === 304 || value === undefined) {
    res.writeHead(status, commonHeaders());
    res.end();
    return;
  }
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy(); // the stream had begun: dropping it is the only way left to say it failed
    return;
  }
  const { status, body } = errorBody(err);
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json' });
  res.end(body + '\n');
}

/** A handler's return value: a plain value is 200 JSON; {status, body} picks the status. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
  ) {}
}

function logFailure(log: Logger, scope: RequestScope, err: unknown): void {
  if (err instanceof ClientGone || scope.signal.aborted) log.debug({ url: scope.url }, 'client went away');
  else if (err instanceof WeftError) log.debug({ url: scope.url, status: err.status, message: err.message }, 'request refused');
  else log.error({ err, method: scope.method, url: scope.url }, 'request failed');
}

/** The plain-request half of the server: what a socket's requests go through, and inject's too. */
export function apiHandler(router: Router, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const scope = responseScope(req, res);
    runInScope(scope, () => void serve(router, log, req, res, scope));
  };
}

export function createApiServer(router: Router, log: Logger): Server {
  const server = createServer({ requireHostHeader: false }, apiHandler(router, log));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const { scope, hijacked } = upgradeScope(req, socket);
    runInScope(scope, () => void serveUpgrade(router, log, req, socket, head, scope, hijacked));
  });
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 60_000;
  return server;
}

/**
 * A request Node's parser refuses (garbage request line, bad header, chunked encoding garbage,
 * headers over the limit): answered like every other error, with a {"message"} body, and the
 * connection closed. Node's own answer has no body.
 */
function answerClientError(err: Error & { code?: string; reason?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431 ? 'request header fields too large' : status === 408 ? 'request timeout' : `malformed HTTP request: ${err.reason ?? err.message}`;
  const body = JSON.stringify({ message }) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Go's net/http refuses an HTTP/1.1 request without Host; Node would too, without a body. */
function checkHost(req: IncomingMessage): void {
  if (req.httpVersion === '1.1' && req.headers.host === undefined) throw invalid('missing required Host header');
}

function responseScope(req: IncomingMessage, res: ServerResponse): RequestScope {
  const done = new AbortController();
  let over = false;
  res.on('close', () => {
    over = true;
    done.abort();
  });
  res.on('error', () => undefined);
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    signal: done.signal,
    fail: (err) => {
      if (!over) sendError(res, err);
    },
  };
}

async function serve(router: Router, log: Logger, req: IncomingMessage, res: ServerResponse, scope: RequestScope): Promise<void> {
  const started = process.hrtime.bigint();
  try {
    checkHost(req);
    const hit = router.match(req.method ?? 'GET', req.url ?? '/');
    if (hit === null || hit === 'method') {
      sendJson(res, 404, { message: 'page not found' });
      return;
    }
    const ctx = makeCtx(req, hit, scope.signal, () => readBody(req, res));
    if (hit.route.hijack) {
      await hit.route.hijack(ctx, plainHijack(res, (status, body) => sendJson(res, status, body)));
      return;
    }
    const result = await hit.route.json!(ctx, res);
    if (res.headersSent) return; // the handler streamed its own response
    if (result instanceof Reply) sendJson(res, result.status, result.body);
    else sendJson(res, 200, result);
  } catch (err) {
    logFailure(log, scope, err);
    sendError(res, err);
  } finally {
    log.debug({ method: req.method, url: req.url, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
  }
}

function upgradeScope(req: IncomingMessage, socket: Socket): { scope: RequestScope; hijacked: { h: Hijacked | null } } {
  const done = new AbortController();
  const hijacked: { h: Hijacked | null } = { h: null };
  socket.on('error', () => socket.destroy());
  socket.on('close', () => done.abort());
  const scope: RequestScope = {
    method: req.method ?? 'POST',
    url: req.url ?? '/',
    signal: done.signal,
    fail: (err) => {
      if (socket.destroyed) return;
      if (hijacked.h?.begun) socket.destroy();
      else upgradeError(socket, statusOf(err), errorBody(err).body);
    },
  };
  return { scope, hijacked };
}

async function serveUpgrade(router: Router, log: Logger, req: IncomingMessage, socket: Socket, head: Buffer, scope: RequestScope, hijacked: { h: Hijacked | null }): Promise<void> {
  try {
    checkHost(req);
    const hit = router.match(req.method ?? 'POST', req.url ?? '/');
    if (hit === null || hit === 'method' || !hit.route.hijack) throw notFound('page not found');
    const body = await readUpgradeBody(req, socket, head, MAX_JSON_BODY);
    hijacked.h = upgradeHijack(socket);
    const ctx = makeCtx(req, hit, scope.signal, () => Promise.resolve(body));
    await hit.route.hijack(ctx, hijacked.h);
  } catch (err) {
    logFailure(log, scope, err);
    scope.fail(err);
  }
}

function makeCtx(req: IncomingMessage, hit: { params: Record<string, string>; query: URLSearchParams; version: string }, signal: AbortSignal, raw: () => Promise<Buffer>): Ctx {
  let cached: Promise<Buffer> | null = null;
  return {
    req,
    params: hit.params,
    query: hit.query,
    version: hit.version,
    signal,
    body: async <T>() => parseJson<T>(await (cached ??= raw())),
  };
}
