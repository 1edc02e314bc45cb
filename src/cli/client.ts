// A thin Docker Engine API client over node:http: JSON calls, streams and HTTP upgrade hijacks.
import http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { parseHost, type Endpoint } from './host.js';

export const API_VERSION = 'v1.41';

/** The daemon answered with an error status; the message is Docker's `{"message": ...}`. */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    readonly daemonMessage: string,
  ) {
    super(`Error response from daemon: ${daemonMessage}`);
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

export type Query = Record<string, string | string[] | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown; // JSON-encoded unless a Buffer/Readable
  headers?: Record<string, string>;
}

export interface Hijacked {
  socket: Duplex;
  head: Buffer;
}

export function buildPath(path: string, query?: Query): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) qs.append(k, x);
      continue;
    }
    qs.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = qs.toString();
  return `/${API_VERSION}${path}${s ? `?${s}` : ''}`;
}

function isReadable(x: unknown): x is Readable {
  return typeof x === 'object' && x !== null && typeof (x as Readable).pipe === 'function';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

function errorMessage(status: number, body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const j = JSON.parse(text) as { message?: string };
    if (typeof j.message === 'string') return j.message;
  } catch {
    /* not JSON */
  }
  return text || `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
}

export class Client {
  readonly endpoint: Endpoint;
  constructor(readonly host: string) {
    this.endpoint = parseHost(host);
  }

  private start(method: string, path: string, opts: RequestOptions, upgrade: boolean): http.ClientRequest {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let payload: Buffer | Readable | undefined;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body) || isReadable(opts.body)) {
        payload = opts.body;
        headers['Content-Type'] ??= 'application/x-tar';
      } else {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
      }
    }
    if (upgrade) {
      headers.Connection = 'Upgrade';
      headers.Upgrade = 'tcp';
    }
    const ep = this.endpoint;
    const target = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
    const req = http.request({ ...target, method, path: buildPath(path, opts.query), headers, agent: false });
    if (payload === undefined) req.end();
    else if (Buffer.isBuffer(payload)) req.end(payload);
    else payload.pipe(req);
    return req;
  }

  private connectError(err: NodeJS.ErrnoException): Error {
    if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'EHOSTUNREACH'].includes(err.code ?? '')) {
      return new ConnectError(`Cannot connect to the weft daemon at ${this.host}. Is the weft daemon running?`);
    }
    return err;
  }

  /** Sends a request and resolves with the (unconsumed) response; error statuses reject. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = this.start(method, path, opts, false);
      req.on('response', resolve);
      req.on('error', (e) => reject(this.connectError(e)));
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) throw new DaemonError(status, errorMessage(status, await readAll(res)));
    return res;
  }

  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Buffer> {
    return readAll(await this.stream(method, path, opts));
  }

  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = await this.raw(method, path, opts);
    const text = body.toString('utf8').trim();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  post<T = unknown>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.json<T>('POST', path, { body, query });
  }

  /** POST with `Connection: Upgrade` and `Upgrade: tcp`; on 101 the socket becomes a raw stream. */
  hijack(path: string, opts: RequestOptions = {}): Promise<Hijacked> {
    return new Promise<Hijacked>((resolve, reject) => {
      const req = this.start('POST', path, opts, true);
      req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          readAll(res).then((b) => reject(new DaemonError(status, errorMessage(status, b))), reject);
        } else {
          // Daemons that answer 200 without upgrading: the response body is the output stream.
          resolve({ socket: res as unknown as Duplex, head: Buffer.alloc(0) });
        }
      });
      req.on('error', (e) => reject(this.connectError(e)));
    });
  }
}
