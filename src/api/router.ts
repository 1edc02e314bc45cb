import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { invalid } from '../common/errors.js';

// A small router for the Engine API. Paths may carry a version prefix (/v1.41/networks);
// handlers see the path without it and the negotiated version in ctx.version.

export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

export interface Ctx {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  version: string;
  /** Aborted once the request is over (answered, or its client gone): streams end with it. */
  signal: AbortSignal;
  body<T = unknown>(): Promise<T>;
}

export type JsonHandler = (ctx: Ctx, res: ServerResponse) => Promise<unknown> | unknown;
/**
 * A connection taken over by a handler (attach, exec start). begin() sends the response head:
 * 101 UPGRADED when the client asked to upgrade, else a 200 streamed response; it returns where
 * the stream goes and, when asked for on an upgraded connection, the client's stdin (which ends
 * when the client half-closes). Errors thrown before begin() become ordinary JSON error responses.
 */
export interface Hijacked {
  upgraded: boolean;
  readonly begun: boolean;
  begin(contentType: string, wantStdin?: boolean): { out: Writable; stdin: Readable | null };
  /** Answers with a plain response instead (e.g. exec start with Detach). */
  respond(status: number, body?: unknown): void;
}
export type HijackHandler = (ctx: Ctx, h: Hijacked) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  json?: JsonHandler;
  hijack?: HijackHandler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, json: JsonHandler): this {
    this.routes.push({ method, ...compile(path), json });
    return this;
  }

  hijack(method: string, path: string, hijack: HijackHandler): this {
    this.routes.push({ method, ...compile(path), hijack });
    return this;
  }

  match(method: string, rawUrl: string): { route: Route; params: Record<string, string>; version: string; query: URLSearchParams } | null | 'method' {
    const target = splitTarget(rawUrl);
    let path = target.path;
    let version = API_VERSION;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (m) {
      version = m[1];
      path = m[2];
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        throw invalid(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (compareVersions(version, API_VERSION) > 0) {
        throw invalid(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const hit = route.pattern.exec(path);
      if (!hit) continue;
      pathMatched = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => (params[k] = percentDecode(hit[i + 1])));
      return { route, params, version, query: target.query };
    }
    return pathMatched ? 'method' : null;
  }
}

/**
 * The request target as sent: path and query. Not through WHATWG URL, which resolves `..` and
 * `%2e%2e` segments (/networks/../containers/json would reach another route) and throws on a
 * malformed escape deep in a handler. A malformed escape is the client's mistake: 400 with Go's
 * url.EscapeError text (dockerd's net/http refuses such a request line with a bare 400).
 */
export function splitTarget(rawUrl: string): { path: string; query: URLSearchParams } {
  // absolute-form (GET http://host/path), which HTTP/1.1 servers must accept
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(rawUrl);
  const target = abs ? rawUrl.slice(abs[0].length) || '/' : rawUrl;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const search = q < 0 ? '' : target.slice(q + 1);
  checkEscapes(path);
  checkEscapes(search);
  return { path, query: new URLSearchParams(search) };
}

function checkEscapes(s: string): void {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(s);
  if (bad) throw invalid(`invalid URL escape ${JSON.stringify(s.slice(bad.index, bad.index + 3))}`);
}

/**
 * Percent-decoding to bytes, as Go does; the bytes are read as UTF-8 (an escape that is not
 * UTF-8, %ff, is no error: it reads as U+FFFD). Node hands the request target over as latin1,
 * one char per byte.
 */
export function percentDecode(s: string): string {
  if (!/[%\u0080-\uffff]/.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (s.charCodeAt(i) < 256) bytes.push(s.charCodeAt(i));
    else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  // {name} matches one segment; {name*} matches the rest (image names contain slashes).
  const source = path.replace(/\{(\w+)(\*?)\}/g, (_, key: string, rest: string) => {
    keys.push(key);
    return rest ? '(.+)' : '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}/?$`), keys };
}

export function compareVersions(a: string, b: string): number {
  const [amaj, amin] = a.split('.').map(Number);
  const [bmaj, bmin] = b.split('.').map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}

export function boolParam(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null) return fallback;
  return !['', '0', 'false', 'no'].includes(v.toLowerCase());
}
