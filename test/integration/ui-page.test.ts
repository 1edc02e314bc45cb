import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger } from '../../src/common/log.js';
import type { EngineEvent } from '../../src/common/events.js';
import { createUiServer } from '../../src/ui/server.js';
import { TopologyStream } from '../../src/ui/stream.js';
import { buildTopology } from '../../src/ui/topology.js';
import type { ProxyAnswer } from '../../src/ui/trace-proxy.js';
import { containerRecord, endpointRecord, networkRecord, testId } from '../helpers/records.js';

// The page itself in Chromium against an in-process server on loopback, with records and trace
// answers the test chooses: how the trace panel shows an answer of GET /weft/trace's shape
// (verdict, steps, disagreements, errors), which the end-to-end test can only see once that
// endpoint exists, and that the graph follows the stream (a removed container disappears).

const bridge = networkRecord({ id: testId(1, 'n'), name: 'bridge', predefined: true, driverState: { bridgeName: 'weft0' }, ipam: { driver: 'default', options: {}, config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } });
const net = networkRecord({ id: testId(2, 'n'), name: 'app', driverState: { bridgeName: 'br-app' }, ipam: { driver: 'default', options: {}, config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] } });
const web = containerRecord({ id: testId(1, 'c'), name: 'web' });
const db = containerRecord({ id: testId(2, 'c'), name: 'db' });
const lone = containerRecord({ id: testId(3, 'c'), name: 'lone' });
let containers = [web, db, lone];
const endpoints = [endpointRecord(1, net, '172.18.0.2'), endpointRecord(2, net, '172.18.0.3'), endpointRecord(3, bridge, '172.17.0.2')];
const topology = () => buildTopology({ networks: [bridge, net], containers, endpoints, hosts: [{ id: 'local', hostname: 'vm', addr: null, role: 'none', alive: true, self: true }], isRealized: () => true });

const answers = new Map<string, ProxyAnswer>([
  ['web>db', { status: 200, body: JSON.stringify({ from: 'web', to: 'db', port: null, reachable: true, steps: [{ step: 'shared network', ok: true, detail: 'app (172.18.0.0/16)' }, { step: 'nftables', ok: true, detail: 'accept: same network' }], disagreements: [] }) }],
  ['web>lone', { status: 200, body: JSON.stringify({ from: 'web', to: 'lone', port: '80/tcp', reachable: false, steps: [{ step: 'shared network', ok: false, detail: 'none' }, { step: 'nftables', ok: false, detail: 'drop: isolation' }], disagreements: ['the records say accept; the kernel drops'] }) }],
  ['db>lone', { status: 404, body: JSON.stringify({ message: 'No such container: lone' }) }],
]);

const followers = new Set<(ev: EngineEvent) => void>();
let server: Server;
let stream: TopologyStream;
let browser: Browser;
let page: Page;
const asked: string[] = [];

before(async () => {
  stream = new TopologyStream(topology, (f) => (followers.add(f), () => followers.delete(f)));
  server = createUiServer({
    topology,
    stream,
    trace: async (q) => {
      asked.push(q.toString());
      const name = (id: string | null) => containers.find((c) => c.id === id)?.name;
      return answers.get(`${name(q.get('from'))}>${name(q.get('to'))}`) ?? { status: 404, body: JSON.stringify({ message: 'page not found' }) };
    },
    log: createLogger({ level: 'fatal' }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => (window as any).weft?.seq > 0);
});
after(async () => {
  const errors: unknown[] = [];
  await browser?.close().catch((e: unknown) => errors.push(e));
  stream?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (errors.length) throw new AggregateError(errors);
});

async function click(name: string): Promise<void> {
  await page.waitForFunction(() => !(window as any).weft.cy.nodes().some((n: any) => n.animated()));
  const at = await page.evaluate((n) => {
    const node = (window as any).weft.cy.nodes().filter((x: any) => x.data('kind') === 'container' && x.data('label').startsWith(n + '\n'));
    const p = node.renderedPosition();
    const r = document.getElementById('graph')!.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, name);
  await page.mouse.click(at.x, at.y);
}

async function trace(from: string, to: string, port = ''): Promise<{ state: string; text: string }> {
  await page.fill('#trace-port', port);
  await click(from);
  await click(to);
  await page.waitForFunction(() => !['idle', 'loading'].includes(document.getElementById('trace-result')!.dataset.state!));
  return page.evaluate(() => ({ state: document.getElementById('trace-result')!.dataset.state!, text: document.getElementById('trace-result')!.textContent! }));
}

test('a reachable pair: the verdict and each step', async () => {
  const r = await trace('web', 'db');
  assert.equal(r.state, 'reachable');
  assert.match(r.text, /✓ web reaches db/);
  assert.match(r.text, /shared network: app \(172\.18\.0\.0\/16\)/);
  assert.match(r.text, /nftables: accept: same network/);
  assert.equal(asked.at(-1), `from=${web.id}&to=${db.id}`);
});

test('an unreachable pair with a port: the failing steps and what the kernel disagrees with', async () => {
  const r = await trace('web', 'lone', '80/tcp');
  assert.equal(r.state, 'unreachable');
  assert.match(r.text, /✗ web cannot reach lone/);
  assert.match(r.text, /port 80\/tcp/);
  assert.match(r.text, /the kernel disagrees with the records: the records say accept; the kernel drops/);
  assert.equal(asked.at(-1), `from=${web.id}&to=${lone.id}&port=80%2Ftcp`);
});

test('a shown trace is redone when the network changes', async () => {
  await trace('web', 'db');
  const before = asked.length;
  for (const f of followers) f({ type: 'network', action: 'connect', network: bridge, endpoint: endpoints[0], container: web, timeNano: 0n });
  await page.waitForFunction((n) => (window as any).weft.seq > n, await page.evaluate(() => (window as any).weft.seq as number));
  const end = Date.now() + 2000;
  while (asked.length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(asked.length, before + 1);
  assert.equal(asked.at(-1), `from=${web.id}&to=${db.id}`);
});

test("the endpoint's errors are shown; a missing endpoint is 'trace unavailable'", async () => {
  const err = await trace('db', 'lone');
  assert.equal(err.state, 'error');
  assert.match(err.text, /trace failed \(404\): No such container: lone/);
  const none = await trace('lone', 'web');
  assert.equal(none.state, 'unavailable');
  assert.match(none.text, /trace unavailable/);
});

test('the graph follows the stream: a removed container disappears, its pick is dropped', async () => {
  containers = [web, db];
  for (const f of followers) f({ type: 'container', action: 'destroy', container: lone, timeNano: 0n });
  await page.waitForFunction(() => (window as any).weft.cy.nodes('[kind = "container"]').length === 2, undefined, { timeout: 1000 });
  assert.equal(await page.textContent('#counts'), '1 host · 2 networks · 2 containers · 2 endpoints');
  assert.deepEqual(await page.evaluate(() => (window as any).weft.picked), [web.id]);
});
