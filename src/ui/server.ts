import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { extname } from 'node:path';
import type { Logger } from '../common/log.js';
import type { TopologyStream } from './stream.js';
import { traceQuery, type ProxyAnswer } from './trace-proxy.js';

// The topology page's HTTP server (weftd --ui): the page and its script, cytoscape's dist file
// read from node_modules (installed by set-up: nothing is fetched at run time), the topology as
// JSON, its live stream, and the trace proxy. Read-only: nothing here changes the engine.

export interface UiDeps {
  topology: () => unknown;
  stream: TopologyStream;
  trace: (q: URLSearchParams, signal: AbortSignal) => Promise<ProxyAnswer>;
  log: Logger;
}

interface Asset {
  type: string;
  body: Buffer;
}

const ASSETS = new URL('../../../src/ui/assets/', import.meta.url); // from dist/src/ui

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Every file of src/ui/assets by its path (index.html at /), and cytoscape, read once. */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(ASSETS)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name === 'index.html' ? '/' : `/${name}`, { type: `${type}; charset=utf-8`, body: readFileSync(new URL(name, ASSETS)) });
  }
  let cytoscape: Buffer;
  try {
    cytoscape = readFileSync(createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js'));
  } catch (err) {
    throw new Error(`the topology page needs the cytoscape npm package (scripts/setup.sh installs it): ${(err as Error).message.split('\n')[0]}`);
  }
  assets.set('/vendor/cytoscape.min.js', { type: 'text/javascript; charset=utf-8', body: cytoscape });
  return assets;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * A page in a browser may be made to request this server under another name (DNS rebinding:
 * evil.example resolving to 127.0.0.1); refusing Host names other than IP literals and
 * localhost keeps such pages from reading the topology.
 */
export function hostAllowed(header: string | undefined): boolean {
  if (!header) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+))(?::\d+)?$/.exec(header);
  if (!m) return false;
  const name = m[1] ?? m[2];
  return name === 'localhost' || isIP(name) !== 0;
}

export function createUiServer(deps: UiDeps, assets = loadAssets()): Server {
  const server = createServer((req, res) => {
    handle(deps, assets, req, res).catch((err: unknown) => {
      deps.log.error({ err: String(err), url: req.url }, 'topology page request failed');
      if (!res.headersSent) json(res, 500, { message: String((err as Error)?.message ?? err) });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

async function handle(deps: UiDeps, assets: Map<string, Asset>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.on('error', () => undefined);
  if (!hostAllowed(req.headers.host)) return json(res, 421, { message: 'the topology page answers only to an IP address or localhost' });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { message: 'the topology page is read-only' });
  const url = new URL(req.url ?? '/', 'http://weft');
  const asset = assets.get(url.pathname === '/index.html' ? '/' : url.pathname);
  if (asset) {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return;
  }
  switch (url.pathname) {
    case '/topology':
      return json(res, 200, deps.topology());
    case '/topology/stream':
      if (!deps.stream.add(res)) json(res, 503, { message: 'too many open topology streams' });
      return;
    case '/trace': {
      if (!url.searchParams.get('from') || !url.searchParams.get('to')) return json(res, 400, { message: 'trace needs from and to (container names or IDs)' });
      const done = new AbortController();
      res.on('close', () => done.abort());
      const answer = await deps.trace(traceQuery(url.searchParams), done.signal);
      if (res.destroyed) return;
      res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(answer.body);
      return;
    }
    default:
      return json(res, 404, { message: 'page not found' });
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  if (res.destroyed) return;
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}
