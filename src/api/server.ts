import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_JSON_BODY) {
        reject(invalid('request body too large'));
        req.destroy();
      } else chunks.push(c);
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
  const server = createServer(apiHandler(router, log));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const { scope, hijacked } = upgradeScope(req, socket);
    runInScope(scope, () => void serveUpgrade(router, log, req, socket, head, scope, hijacked));
  });
  server.keepAliveTimeout = 60_000;
  return server;
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
    const hit = router.match(req.method ?? 'GET', req.url ?? '/');
    if (hit === null || hit === 'method') {
      sendJson(res, 404, { message: 'page not found' });
      return;
    }
    const ctx = makeCtx(req, hit, scope.signal, () => readBody(req));
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
    const hit = router.match(req.method ?? 'POST', req.url ?? '/');
    if (hit === null || hit === 'method' || !hit.route.hijack) throw notFound('page not found');
    const body = await readUpgradeBody(req, socket, head);
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
