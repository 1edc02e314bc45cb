import { request, type ClientRequest } from 'node:http';
import { WeftError } from '../common/errors.js';

// The HTTP client of the legacy plugin protocol (dockerd's pkg/plugins client): every call is a
// POST /<Interface>.<Method> with a JSON body, answered with JSON. Unlike dockerd, whose v1
// plugin client has no timeout at all, every call here has a deadline: a plugin that hangs fails
// the request that waits on it, with Go's http.Client text. A refused or missing socket is retried
// within that deadline (dockerd retries for 30 s): a plugin restarting is waited for.

export const PLUGIN_MIME = 'application/vnd.docker.plugins.v1.2+json';
/** Answers larger than this are refused (a plugin must not make the daemon buffer without bound). */
const MAX_BODY = 1 << 20;

export interface PluginCallErrorInit {
  method: string;
  message: string;
  /** HTTP status of a non-200 answer; 0 when there was no answer. */
  httpStatus: number;
  /** No answer at all (refused, reset, timed out): the plugin may be down. */
  unreachable: boolean;
}

/** A plugin call that failed: a 500 to the API client, as dockerd answers (errdefs.System). */
export class PluginCallError extends WeftError {
  readonly method: string;
  readonly httpStatus: number;
  readonly unreachable: boolean;
  constructor(init: PluginCallErrorInit) {
    super('System', init.message);
    this.name = 'PluginCallError';
    this.method = init.method;
    this.httpStatus = init.httpStatus;
    this.unreachable = init.unreachable;
  }
  /** The plugin does not implement the method (dockerd's plugins.IsNotFound). */
  get notFound(): boolean {
    return this.httpStatus === 404;
  }
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN', 'ENOTSOCK']);

export interface ClientOptions {
  /** Deadline of one call, retries included. */
  timeoutMs: number;
}

export class PluginClient {
  private readonly socketPath?: string;
  private readonly host?: string;
  private readonly port?: number;
  /** What Go prints as the request URL (the socket path escaped into the host part). */
  private readonly urlBase: string;

  constructor(
    readonly addr: string,
    private readonly opts: ClientOptions,
  ) {
    if (addr.startsWith('unix://')) {
      this.socketPath = addr.slice('unix://'.length);
      this.urlBase = `http://${encodeURIComponent(this.socketPath)}`;
    } else if (addr.startsWith('tcp://') || addr.startsWith('http://')) {
      const u = new URL(addr.replace(/^tcp:/, 'http:'));
      this.host = u.hostname;
      this.port = Number(u.port || 80);
      this.urlBase = `http://${u.host}`;
    } else {
      throw new Error(`unsupported plugin address ${addr}: weft speaks to plugins over unix:// and tcp:// (no TLS)`);
    }
  }

  /** Calls a method; resolves with the decoded answer of a 200, throws PluginCallError otherwise. */
  async call<T = Record<string, unknown>>(method: string, body: unknown = {}): Promise<T> {
    const deadline = Date.now() + this.opts.timeoutMs;
    const payload = JSON.stringify(body ?? {});
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.once(method, payload, deadline)) as T;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const wait = Math.min(100 * 2 ** attempt, 1000);
        if (CONNECT_ERRORS.has(code) && Date.now() + wait < deadline) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        throw this.wrap(method, err);
      }
    }
  }

  private once(method: string, payload: string, deadline: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let req: ClientRequest | null = null;
      const timer = setTimeout(() => {
        const e = Object.assign(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'), { code: 'ETIMEDOUT' });
        req?.destroy(e);
      }, Math.max(1, deadline - Date.now()));
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      req = request(
        {
          method: 'POST',
          path: `/${method}`,
          socketPath: this.socketPath,
          host: this.host ?? 'plugin',
          port: this.port,
          headers: { 'Content-Type': PLUGIN_MIME, Accept: PLUGIN_MIME, 'Content-Length': Buffer.byteLength(payload) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) return req?.destroy(Object.assign(new Error(`answer larger than ${MAX_BODY} bytes`), { code: 'EMSGSIZE' }));
            chunks.push(c);
          });
          res.on('error', (err) => done(() => reject(err)));
          res.on('end', () =>
            done(() => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 0;
              if (status !== 200) return reject(statusError(method, status, text));
              if (text.trim() === '') return resolve({});
              try {
                const v: unknown = JSON.parse(text);
                // Go decodes null into an empty struct and refuses anything but an object.
                if (v === null) return resolve({});
                if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into an answer object`);
                resolve(v);
              } catch (err) {
                reject(new PluginCallError({ method, httpStatus: 0, unreachable: false, message: `${method}: invalid JSON answer: ${(err as Error).message}` }));
              }
            }),
          );
        },
      );
      req.on('error', (err) => done(() => reject(err)));
      req.end(payload);
    });
  }

  /** Go's *url.Error text: Post "<url>": <cause>. */
  private wrap(method: string, err: unknown): PluginCallError {
    if (err instanceof PluginCallError) return err;
    const e = err as NodeJS.ErrnoException;
    const url = `Post "${this.urlBase}/${method}"`;
    const where = this.socketPath ? `dial unix ${this.socketPath}` : `dial tcp ${this.host}:${this.port}`;
    let cause: string;
    switch (e.code) {
      case 'ECONNREFUSED':
        cause = `${where}: connect: connection refused`;
        break;
      case 'ENOENT':
        cause = `${where}: connect: no such file or directory`;
        break;
      case 'ECONNRESET':
      case 'EPIPE':
        cause = 'EOF';
        break;
      default:
        cause = e.message;
    }
    return new PluginCallError({ method, httpStatus: 0, unreachable: true, message: `${url}: ${cause}` });
  }
}

/** dockerd's statusError: "<method>: <Err of the body, or the body>". */
function statusError(method: string, status: number, text: string): PluginCallError {
  let msg = text;
  try {
    const v = JSON.parse(text) as { Err?: unknown };
    if (typeof v?.Err === 'string' && v.Err) msg = v.Err;
  } catch {
    /* not JSON: the body as it is */
  }
  return new PluginCallError({ method, httpStatus: status, unreachable: false, message: `${method}: ${msg.trim()}` });
}
