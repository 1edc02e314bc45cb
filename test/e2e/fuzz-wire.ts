import { readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import type { Daemon } from '../helpers/daemons.js';
import type { FuzzReq, HttpReq, RawReq } from './fuzz-gen.js';

// Sends fuzz-gen's requests to a daemon and judges the answers; takes the daemon's state as the
// API and the kernel show it (fuzz-api.test.ts, fuzz-cli.test.ts).

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** What is wrong with an answer to a bad request, or null: a 4xx with a clear {"message"}. */
export function judge(a: Answer, method = 'GET'): string | null {
  if (a.status < 400 || a.status > 499) return `status ${a.status}`;
  if (method === 'HEAD') return null;
  if (!/application\/json/.test(a.contentType)) return `Content-Type ${JSON.stringify(a.contentType)}`;
  let message: unknown;
  try {
    message = (JSON.parse(a.body) as { message?: unknown }).message;
  } catch {
    return 'body is no JSON';
  }
  if (typeof message !== 'string' || message.trim() === '') return 'no message';
  if (/\n\s+at |\(file:|\.js:\d+|\b(TypeError|ReferenceError|RangeError|SyntaxError)\b|\[object Object\]/.test(message)) return 'message leaks internals';
  return null;
}

const TIMEOUT_MS = 10_000;

export function httpSend(socketPath: string, agent: Agent, r: HttpReq): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
    const headers: Record<string, string | number> = { Host: 'docker' };
    if (body) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    const req = request({ socketPath, agent, method: r.method, path: r.path, headers, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms (hang)`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes the bytes, half-closes, and reads every answer until the daemon closes the connection. */
export function rawSend(socketPath: string, r: RawReq): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connection not closed within ${TIMEOUT_MS} ms (hang); got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, TIMEOUT_MS);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined); // EPIPE: the daemon refused and closed while we still wrote
    s.on('close', () => {
      clearTimeout(timer);
      resolve(parseResponses(Buffer.concat(chunks)));
    });
    s.write(r.bytes);
    s.end();
  });
}

/** HTTP/1.1 responses one after another (Content-Length or chunked bodies). */
export function parseResponses(buf: Buffer): Answer[] {
  const out: Answer[] = [];
  let text = buf.toString('latin1');
  while (text.length > 0) {
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = text.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1] ?? 0);
    const header = (name: string) => head.find((h) => h.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
    let rest = text.slice(end + 4);
    let body = '';
    if (/chunked/i.test(header('transfer-encoding'))) {
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, nl), 16);
        if (nl < 0 || !(size >= 0)) break;
        body += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const len = Number(header('content-length') || 0);
      body = rest.slice(0, len);
      rest = rest.slice(len);
    }
    out.push({ status, contentType: header('content-type'), body: Buffer.from(body, 'latin1').toString('utf8') });
    text = rest;
  }
  return out;
}

/** One request, judged: null when it was refused as it should be, else what went wrong. */
export async function sendAndJudge(d: Daemon, agent: Agent, r: FuzzReq): Promise<string | null> {
  try {
    if (r.via === 'http') {
      const a = await httpSend(d.socket, agent, r);
      const bad = judge(a, r.method);
      return bad && `${bad}: ${a.body.slice(0, 300)}`;
    }
    const answers = await rawSend(d.socket, r);
    if (answers.length === 0) return 'no answer before the connection closed';
    for (const a of answers) {
      const bad = judge(a);
      if (bad) return `${bad}: ${a.body.slice(0, 300)}`;
    }
    return null;
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

/** The request, short enough to print. */
export function describe(r: FuzzReq): string {
  if (r.via === 'http') {
    const body = r.body === undefined ? '' : ` ${JSON.stringify(String(r.body).slice(0, 300))}${String(r.body).length > 300 ? `... (${r.body.length} bytes)` : ''}`;
    return `${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}... (${r.path.length} chars)` : r.path}${body}`;
  }
  const s = Buffer.isBuffer(r.bytes) ? r.bytes.subarray(0, 300).toString('latin1') : r.bytes.slice(0, 300);
  return `raw ${JSON.stringify(s)}${r.bytes.length > 300 ? `... (${r.bytes.length} bytes)` : ''}`;
}

/**
 * The daemon's state as clients and the kernel see it: networks, containers (without the
 * "Up 3 seconds" text), images, links, addresses, the whole nft ruleset (counters dropped) and the
 * sandboxes' namespaces. Equal before and after a refused request.
 */
export async function snapshot(d: Daemon): Promise<Record<string, unknown>> {
  const get = async (path: string) => {
    const r = await d.api('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
    return r.json as Record<string, unknown>[];
  };
  const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.Id).localeCompare(String(b.Id));
  return {
    networks: (await get('/networks')).sort(byId),
    containers: (await get('/containers/json?all=1')).map(({ Status: _, ...c }) => c).sort(byId),
    images: (await get('/images/json')).sort(byId),
    links: d.netns.run('ip', ['-o', 'link']),
    addresses: d.netns.run('ip', ['-o', 'addr']).replace(/valid_lft \S+ preferred_lft \S+/g, '').replace(/ tentative/g, ''), // IPv6 DAD ends on its own
    ruleset: d.netns.run('nft', ['list', 'ruleset']).replace(/counter packets \d+ bytes \d+/g, 'counter'),
    sandboxes: readdirSync(`${d.execRoot}/netns`).sort(),
  };
}

/** The first part of two snapshots that differs, for the failure message. */
export function difference(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const key of Object.keys(a)) {
    const x = JSON.stringify(a[key], null, 1);
    const y = JSON.stringify(b[key], null, 1);
    if (x === y) continue;
    const xs = x.split('\n');
    const ys = y.split('\n');
    let i = 0;
    while (i < xs.length && xs[i] === ys[i]) i++;
    return `${key} changed at line ${i + 1}:\n  before: ${xs.slice(i, i + 3).join(' ')}\n  after:  ${ys.slice(i, i + 3).join(' ')}`;
  }
  return null;
}
