import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger } from '../../src/common/log.js';
import type { EngineEvent } from '../../src/common/events.js';
import { createUiServer, hostAllowed } from '../../src/ui/server.js';
import { MAX_CLIENTS, TopologyStream } from '../../src/ui/stream.js';
import { traceQuery } from '../../src/ui/trace-proxy.js';
import { containerRecord } from '../helpers/records.js';

// The topology page's server in-process on a loopback port: assets, JSON, the Host check, the
// trace proxy's pass-through, and the live stream (coalesced, bounded).

const followers = new Set<(ev: EngineEvent) => void>();
const emit = (ev: EngineEvent) => followers.forEach((f) => f(ev));
let version = 0;
const traces: string[] = [];
let server: Server;
let stream: TopologyStream;
let port = 0;

before(async () => {
  stream = new TopologyStream(() => ({ version }), (f) => {
    followers.add(f);
    return () => followers.delete(f);
  });
  server = createUiServer({
    topology: () => ({ version }),
    stream,
    trace: async (q) => {
      traces.push(q.toString());
      return { status: 404, body: JSON.stringify({ message: 'page not found' }) };
    },
    log: createLogger({ level: 'fatal' }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  stream.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function get(path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { Host: opts.host ?? `127.0.0.1:${port}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the stream and collects its `topology` messages. */
function openStream(): Promise<{ messages: any[]; close(): void; status: number }> {
  return new Promise((resolve, reject) => {
    const messages: any[] = [];
    const req = request({ host: '127.0.0.1', port, path: '/topology/stream', headers: { Host: `localhost:${port}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) messages.push(JSON.parse(data.slice(6)));
        }
      });
      resolve({ messages, status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

const waitFor = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('the page, its script and cytoscape from node_modules', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.type, /text\/html/);
  assert.match(page.text, /<script src="\/vendor\/cytoscape\.min\.js"><\/script>/);
  const cy = await get('/vendor/cytoscape.min.js');
  assert.equal(cy.status, 200);
  assert.match(cy.text.slice(0, 2000), /cytoscape/i);
  assert.ok(cy.text.length > 100_000);
  assert.match(page.text, /<script type="module" src="\/app\.js"><\/script>/);
  for (const file of ['/app.js', '/graph.js', '/panel.js', '/style.css']) assert.equal((await get(file)).status, 200, file);
  assert.equal((await get('/nope')).status, 404);
});

test('JSON topology; read-only; answers only to IP literals and localhost (no DNS rebinding)', async () => {
  version = 7;
  assert.deepEqual(JSON.parse((await get('/topology')).text), { version: 7 });
  assert.equal((await get('/topology', { method: 'POST' })).status, 405);
  assert.equal((await get('/topology', { host: 'evil.example:80' })).status, 421);
  assert.equal((await get('/topology', { host: `[::1]:${port}` })).status, 200);
  assert.equal(hostAllowed('localhost'), true);
  assert.equal(hostAllowed('10.0.0.1:80'), true);
  assert.equal(hostAllowed('rebind.127.0.0.1.nip.io:80'), false);
  assert.equal(hostAllowed(undefined), false);
});

test('trace: needs from and to; passes only from, to and port on; the answer comes back as it is', async () => {
  assert.equal((await get('/trace?from=a')).status, 400);
  const r = await get('/trace?from=a&to=b&port=80%2Ftcp&evil=1');
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.text), { message: 'page not found' });
  assert.equal(traces.at(-1), 'from=a&to=b&port=80%2Ftcp');
  assert.equal(traceQuery(new URLSearchParams('to=b&from=a')).toString(), 'from=a&to=b');
});

test('the stream: the topology at once, then one message per burst of events, within tens of milliseconds', async () => {
  const s = await openStream();
  try {
    assert.equal(s.status, 200);
    await waitFor(() => s.messages.length === 1, 1000);
    assert.equal(s.messages[0].causes[0].type, 'snapshot');
    version = 8;
    const c = containerRecord({ name: 'alpine1' });
    const t0 = Date.now();
    for (const action of ['create', 'start', 'update'] as const) emit({ type: 'container', action, container: c, timeNano: 0n });
    await waitFor(() => s.messages.length === 2, 1000);
    const ms = Date.now() - t0;
    assert.ok(ms < 200, `${ms} ms`);
    assert.deepEqual(s.messages[1].topology, { version: 8 });
    assert.deepEqual(s.messages[1].causes.map((x: { action: string }) => x.action), ['create', 'start', 'update']);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.messages.length, 2, 'the burst is one message');
  } finally {
    s.close();
  }
});

test(`at most ${MAX_CLIENTS} streams; closed ones are forgotten`, async () => {
  await waitFor(() => stream.size === 0, 1000);
  const open = await Promise.all(Array.from({ length: MAX_CLIENTS }, openStream));
  try {
    assert.ok(open.every((s) => s.status === 200));
    assert.equal((await openStream()).status, 503);
  } finally {
    for (const s of open) s.close();
  }
  await waitFor(() => stream.size === 0, 1000);
  const again = await openStream();
  assert.equal(again.status, 200);
  again.close();
});
