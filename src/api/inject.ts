import { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';

// Requests answered in process, without a socket (fastify's `inject`): a request made of a
// readable body and a response whose bytes are kept, both handed to the same handler a socket's
// requests go through (server.ts apiHandler), so routing, body parsing, error mapping and
// Docker's headers are those clients see. For tests and tools; weftd itself never calls it.

export interface InjectRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  payload?: unknown;
  /** Aborting it is the client leaving: streaming responses end with what they sent so far. */
  signal?: AbortSignal;
}

export interface InjectResponse {
  statusCode: number;
  /** Lower-case names, as node's getHeaders() gives them. */
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = unknown>(): T;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function payloadBytes(payload: unknown): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

/** The parts of IncomingMessage the API reads: method, url, headers and the body stream. */
class FakeRequest extends Readable {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly socket = { remoteAddress: '127.0.0.1', encrypted: false };

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Record<string, string>,
    body: Buffer,
  ) {
    super({ read() {} });
    if (body.length) this.push(body);
    this.push(null);
  }
}

/** A ServerResponse writing to a sink that drops the wire bytes; what the handler wrote is kept. */
class CapturingResponse extends ServerResponse {
  readonly chunks: Buffer[] = [];

  constructor(req: IncomingMessage) {
    super(req);
    // Headers given to writeHead() land in getHeaders() only once the header map exists.
    this.setHeader('x-inject', '1');
    this.removeHeader('x-inject');
    this.assignSocket(new Writable({ write: (_c, _e, cb) => setImmediate(cb) }) as never);
    // A socket server emits the response's 'close' after it finishes; here destroy() does.
    this.once('finish', () => this.destroy());
  }

  private keep(chunk: unknown, encoding?: unknown): void {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.keep(chunk, encoding);
    return super.write(chunk as never, encoding as never, cb as never);
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    this.keep(chunk, encoding);
    return super.end(chunk as never, encoding as never, cb as never);
  }
}

export function inject(handler: Handler, r: InjectRequest): Promise<InjectResponse> {
  const body = payloadBytes(r.payload);
  const headers: Record<string, string> = { host: 'weft' };
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  if (body.length) {
    headers['content-length'] ??= String(body.length);
    if (r.payload !== undefined && typeof r.payload === 'object' && !Buffer.isBuffer(r.payload)) headers['content-type'] ??= 'application/json';
  }
  const req = new FakeRequest(r.method ?? 'GET', r.url, headers, body) as unknown as IncomingMessage;
  const res = new CapturingResponse(req);
  return new Promise((resolve) => {
    res.once('close', () => {
      const text = Buffer.concat(res.chunks).toString('utf8');
      resolve({
        statusCode: res.statusCode,
        headers: { ...res.getHeaders() } as InjectResponse['headers'],
        body: text,
        json: <T>() => JSON.parse(text) as T,
      });
    });
    if (r.signal) {
      if (r.signal.aborted) res.destroy();
      else r.signal.addEventListener('abort', () => res.destroy(), { once: true });
    }
    handler(req, res);
  });
}
