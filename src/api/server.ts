import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '../common/log.js';
import { invalid, statusOf, WeftError } from '../common/errors.js';
import { API_VERSION, type Ctx, type Hijacked, type Router } from './router.js';

// The HTTP shell around the router: Docker's headers, JSON bodies, {"message"} errors with the
// status of the error's kind, and the two ways clients take over a connection (upgrade or not).

const MAX_JSON_BODY = 16 * 1024 * 1024;

function commonHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `Docker/weft (linux)` };
}

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
  if (status === 204 || status === 304 || value === undefined) {
    res.writeHead(status, commonHeaders());
    res.end();
    return;
  }
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A handler's return value: a plain value is 200 JSON; {status, body} picks the status. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
  ) {}
}

export function createApiServer(router: Router, log: Logger): Server {
  const server = createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    try {
      const hit = router.match(req.method ?? 'GET', req.url ?? '/');
      if (hit === null || hit === 'method') {
        sendJson(res, 404, { message: 'page not found' });
        return;
      }
      const ctx = makeCtx(req, hit, () => readBody(req));
      if (hit.route.hijack) {
        await hit.route.hijack(ctx, plainHijack(req, res));
        return;
      }
      const result = await hit.route.json!(ctx, res);
      if (res.headersSent) return; // the handler streamed its own response
      if (result instanceof Reply) sendJson(res, result.status, result.body);
      else sendJson(res, 200, result);
    } catch (err) {
      if (!(err instanceof WeftError)) log.error({ err, url: req.url }, 'request failed');
      else log.debug({ url: req.url, status: err.status, message: err.message }, 'request refused');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const { status, body } = errorBody(err);
      res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json' });
      res.end(body + '\n');
    } finally {
      log.debug({ method: req.method, url: req.url, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void handleUpgrade(router, log, req, socket, head);
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

function makeCtx(req: IncomingMessage, hit: { params: Record<string, string>; query: URLSearchParams; version: string }, raw: () => Promise<Buffer>): Ctx {
  let cached: Promise<Buffer> | null = null;
  return {
    req,
    params: hit.params,
    query: hit.query,
    version: hit.version,
    body: async <T>() => parseJson<T>(await (cached ??= raw())),
  };
}

function plainHijack(req: IncomingMessage, res: ServerResponse): Hijacked {
  let conn: Duplex | null = null;
  return {
    // Made when a handler streams. A Duplex over req/res that nobody listens to errors with
    // "premature close" when the response ends without it (exec start with Detach): with no
    // 'error' listener that took the whole daemon down.
    get conn(): Duplex {
      if (!conn) {
        const c = Duplex.from({ readable: req, writable: res });
        c.on('error', () => c.destroy());
        conn = c;
      }
      return conn;
    },
    upgraded: false,
    begin(contentType) {
      res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType });
      res.flushHeaders();
    },
    respond(status, body) {
      sendJson(res, status, body);
    },
  };
}

async function handleUpgrade(router: Router, log: Logger, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  let begun = false;
  try {
    const hit = router.match(req.method ?? 'POST', req.url ?? '/');
    if (hit === null || hit === 'method' || !hit.route.hijack) throw new WeftError('NotFound', 'page not found');
    const length = Number(req.headers['content-length'] ?? 0);
    const ctx = makeCtx(req, hit, () => readUpgradeBody(socket, head, length));
    if (length === 0 && head.length) socket.unshift(head);
    await hit.route.hijack(ctx, {
      conn: socket,
      upgraded: true,
      begin(contentType) {
        begun = true;
        socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
      },
      respond(status, body) {
        begun = true;
        const text = body === undefined ? '' : JSON.stringify(body);
        socket.end(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Status'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${text}`);
      },
    });
  } catch (err) {
    if (begun) {
      socket.destroy();
      return;
    }
    if (!(err instanceof WeftError)) log.error({ err, url: req.url }, 'upgrade request failed');
    const { status, body } = errorBody(err);
    socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
}

/** Reads exactly `length` body bytes that follow the headers of an upgrade request; the rest stays on the socket (it is stdin). */
function readUpgradeBody(socket: Socket, head: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = head;
    const finish = () => {
      socket.off('data', onData);
      socket.off('error', reject);
      const rest = buf.subarray(length);
      socket.pause();
      if (rest.length) socket.unshift(rest);
      resolve(buf.subarray(0, length));
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= length) finish();
    };
    if (buf.length >= length) return finish();
    socket.on('data', onData);
    socket.on('error', reject);
  });
}
