import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT, startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';

// The topology page (weftd --ui) in Debian's Chromium, driven by playwright-core: weftd runs in
// a test namespace with the page on 127.0.0.1 there, and Chromium is started inside the same
// namespace (through an nsenter wrapper; playwright talks to it over pipes, so nothing crosses
// namespaces but its stdio). The graph must show the seed walkthrough's topology with the
// addresses and MACs docker inspect reports, follow `docker network connect` within a second,
// and the trace panel must agree with ping (or say the trace endpoint is unavailable).

const PORT = 7373;
const URL_ = `http://127.0.0.1:${PORT}/`;
export const SCREENSHOT = join(REPO_ROOT, 'test-artifacts/topology.png');
const CHROMIUM = '/usr/bin/chromium';

interface Inspected {
  id: string;
  nets: Record<string, { ip: string; prefix: number; mac: string; networkId: string }>;
}

async function inspect(d: Daemon, name: string): Promise<Inspected> {
  const [c] = JSON.parse(await d.dockerOk(['inspect', name])) as { Id: string; NetworkSettings: { Networks: Record<string, { IPAddress: string; IPPrefixLen: number; MacAddress: string; NetworkID: string }> } }[];
  const nets: Inspected['nets'] = {};
  for (const [net, s] of Object.entries(c.NetworkSettings.Networks)) nets[net] = { ip: s.IPAddress, prefix: s.IPPrefixLen, mac: s.MacAddress, networkId: s.NetworkID };
  return { id: c.Id, nets };
}

/** Chromium started inside the daemon's namespace: a wrapper playwright runs as the executable. */
function chromiumIn(d: Daemon, dir: string): string {
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=${d.netns.path} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** The edge label of container c on network n as the page has it, or null. */
function edgeLabel(page: Page, containerId: string, networkId: string): Promise<string | null> {
  return page.evaluate(
    ([c, n]) => {
      const e = (window as any).weft.cy.edges(`[source = "c:${c}"][target = "n:${n}"]`);
      return e.nonempty() ? (e.data('label') as string) : null;
    },
    [containerId, networkId],
  );
}

/** Clicks a container's node where it is drawn on the canvas (a real mouse click). */
async function clickContainer(page: Page, id: string): Promise<void> {
  await page.waitForFunction(() => !(window as any).weft.cy.nodes().some((n: any) => n.animated()));
  const at = await page.evaluate((cid) => {
    const n = (window as any).weft.cy.getElementById(`c:${cid}`);
    const p = n.renderedPosition();
    const r = document.getElementById('graph')!.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, id);
  await page.mouse.click(at.x, at.y);
}

async function traceVia(page: Page, from: string, to: string): Promise<{ state: string; text: string }> {
  await clickContainer(page, from);
  await clickContainer(page, to);
  await page.waitForFunction(() => !['idle', 'loading'].includes(document.getElementById('trace-result')!.dataset.state ?? ''), undefined, { timeout: 20_000 });
  return page.evaluate(() => {
    const r = document.getElementById('trace-result')!;
    return { state: r.dataset.state ?? '', text: r.textContent ?? '' };
  });
}

async function pings(d: Daemon, from: string, ip: string): Promise<boolean> {
  return (await d.docker(['exec', from, 'ping', '-c', '1', '-W', '1', ip])).code === 0;
}

test('topology page: the seed walkthrough as a live graph in Chromium, with traces', { timeout: 120_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ui-'));
  const d = await startDaemon('weft', { extraArgs: ['--ui', `127.0.0.1:${PORT}`] });
  let browser: Browser | null = null;
  t.after(async () => {
    const errors: unknown[] = [];
    await browser?.close().catch((e: unknown) => errors.push(e));
    await d.stop().catch((e: unknown) => errors.push(e));
    rmSync(dir, { recursive: true, force: true });
    if (errors.length) throw new AggregateError(errors, 'topology test teardown');
  });

  await t.test('the page listens on loopback only, inside the daemon namespace', () => {
    const listening = d.netns.run('ss', ['-Hltn']).split('\n').map((l) => l.trim().split(/\s+/)[3]).filter(Boolean);
    assert.ok(listening.includes(`127.0.0.1:${PORT}`), listening.join(' '));
    assert.ok(!listening.some((a) => a.endsWith(`:${PORT}`) && !a.startsWith('127.0.0.1')), listening.join(' '));
  });

  // The seed's walkthrough: two containers on the default bridge, two on a user-defined one.
  for (const name of ['alpine1', 'alpine2']) await d.dockerOk(['run', '-dit', '--name', name, 'alpine', 'ash']);
  await d.dockerOk(['network', 'create', '--driver', 'bridge', 'alpine-net']);
  for (const name of ['alpine3', 'alpine4']) await d.dockerOk(['run', '-dit', '--name', name, '--network', 'alpine-net', 'alpine', 'ash']);
  const nets = Object.fromEntries(
    (JSON.parse(await d.dockerOk(['network', 'inspect', 'bridge', 'alpine-net'])) as { Name: string; Id: string; IPAM: { Config: { Subnet: string; Gateway: string }[] } }[]).map((n) => [n.Name, n]),
  );
  const c: Record<string, Inspected> = {};
  for (const name of ['alpine1', 'alpine2', 'alpine3', 'alpine4']) c[name] = await inspect(d, name);

  browser = await chromium.launch({ executablePath: chromiumIn(d, dir), args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(URL_);
  await page.waitForFunction(() => (window as any).weft?.seq > 0 && document.getElementById('status')!.dataset.state === 'live');

  await t.test('the graph shows the walkthrough: networks with driver, bridge, subnet, gateway; containers with addresses and MACs', async () => {
    const labels = await page.evaluate(() => Object.fromEntries((window as any).weft.cy.nodes().map((n: any) => [n.id(), n.data('label') as string])));
    const bridge = labels[`n:${nets.bridge.Id}`];
    assert.ok(bridge, `no node for the default bridge: ${JSON.stringify(labels)}`);
    assert.match(bridge, /^bridge\nbridge · weft0\n/);
    assert.ok(bridge.includes(`${nets.bridge.IPAM.Config[0].Subnet} gw ${nets.bridge.IPAM.Config[0].Gateway}`), bridge);
    const user = labels[`n:${nets['alpine-net'].Id}`];
    assert.ok(user.startsWith(`alpine-net\nbridge · br-${nets['alpine-net'].Id.slice(0, 12)}\n${nets['alpine-net'].IPAM.Config[0].Subnet} gw ${nets['alpine-net'].IPAM.Config[0].Gateway}`), user);
    for (const [name, info] of Object.entries(c)) {
      assert.equal(labels[`c:${info.id}`], `${name}\nalpine`);
      const [netName, s] = Object.entries(info.nets)[0];
      assert.equal(Object.keys(info.nets).length, 1);
      assert.equal(await edgeLabel(page, info.id, s.networkId), `eth0 ${s.ip}/${s.prefix}\n${s.mac}`, `${name} on ${netName}`);
    }
    const edges = await page.evaluate(() => (window as any).weft.cy.edges().length as number);
    assert.equal(edges, 4, 'one edge per endpoint');
    // bridge, host, none and alpine-net
    assert.equal(await page.textContent('#counts'), '1 host · 4 networks · 4 containers · 4 endpoints');
  });

  await t.test('containers do not reach the page (it is on the host namespace\'s loopback, not on the gateways)', async () => {
    for (const url of [`http://${nets.bridge.IPAM.Config[0].Gateway}:${PORT}/topology`, `http://${nets['alpine-net'].IPAM.Config[0].Gateway}:${PORT}/topology`]) {
      const r = await d.docker(['exec', 'alpine1', 'timeout', '3', 'wget', '-qO-', url]);
      assert.notEqual(r.code, 0, `${url} answered: ${r.stdout.slice(0, 200)}`);
    }
  });

  await t.test('docker network connect shows within a second', async () => {
    const started = Date.now();
    await d.dockerOk(['network', 'connect', 'bridge', 'alpine4']);
    const returned = Date.now();
    await page.waitForFunction(([cid, nid]) => (window as any).weft.cy.edges(`[source = "c:${cid}"][target = "n:${nid}"]`).nonempty(), [c.alpine4.id, nets.bridge.Id], { timeout: 1000, polling: 20 });
    const seenAt = await page.evaluate(() => (window as any).weft.updatedAt as number);
    t.diagnostic(`connect: CLI ${returned - started} ms; drawn ${seenAt - started} ms after the command started, ${seenAt - returned} ms after it returned`);
    assert.ok(seenAt - returned < 1000, `${seenAt - returned} ms`);
    c.alpine4 = await inspect(d, 'alpine4');
    const s = c.alpine4.nets.bridge;
    assert.equal(await edgeLabel(page, c.alpine4.id, nets.bridge.Id), `eth1 ${s.ip}/${s.prefix}\n${s.mac}`);
  });

  await t.test('the trace panel agrees with ping', async () => {
    const pairs: [string, string, string][] = [
      ['alpine3', 'alpine4', c.alpine4.nets['alpine-net'].ip], // same user-defined network
      ['alpine1', 'alpine3', c.alpine3.nets['alpine-net'].ip], // isolated networks
      ['alpine4', 'alpine1', c.alpine1.nets.bridge.ip], // alpine4 joined the bridge live
    ];
    for (const [from, to, ip] of pairs) {
      const ping = await pings(d, from, ip);
      const shown = await traceVia(page, c[from].id, c[to].id);
      t.diagnostic(`${from} -> ${to}: ping ${ping ? 'ok' : 'fails'}; panel ${shown.state}: ${shown.text.slice(0, 120)}`);
      if (shown.state === 'unavailable') {
        assert.match(shown.text, /trace unavailable/);
      } else {
        assert.ok(shown.state === 'reachable' || shown.state === 'unreachable', `trace failed: ${shown.text}`);
        assert.equal(shown.state === 'reachable', ping, `${from} -> ${to}: trace says ${shown.state}, ping ${ping ? 'works' : 'fails'}`);
      }
      assert.equal(await page.textContent('#trace-pair'), `${from} → ${to}`);
    }
    // The expected ping results themselves (isolation): if these change, the pairs test less.
    assert.equal(await pings(d, 'alpine1', c.alpine3.nets['alpine-net'].ip), false);
  });

  await t.test('screenshot', async () => {
    await clickContainer(page, c.alpine3.id); // leave a trace shown in the panel
    await clickContainer(page, c.alpine4.id);
    await page.waitForFunction(() => !['idle', 'loading'].includes(document.getElementById('trace-result')!.dataset.state ?? ''));
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  });

  await t.test('disconnect and a killed container show within a second (its networks dotted)', async () => {
    const edge = (cid: string, nid: string) => `[source = "c:${cid}"][target = "n:${nid}"]`;
    await d.dockerOk(['network', 'disconnect', 'bridge', 'alpine4']);
    let returned = Date.now();
    await page.waitForFunction((sel) => (window as any).weft.cy.edges(sel).empty(), edge(c.alpine4.id, nets.bridge.Id), { timeout: 1000, polling: 20 });
    t.diagnostic(`disconnect drawn ${(await page.evaluate(() => (window as any).weft.updatedAt as number)) - returned} ms after the CLI returned`);
    await d.dockerOk(['kill', 'alpine2']);
    returned = Date.now();
    await page.waitForFunction((id) => (window as any).weft.cy.getElementById(`c:${id}`).hasClass('stopped'), c.alpine2.id, { timeout: 1000, polling: 20 });
    t.diagnostic(`kill drawn ${(await page.evaluate(() => (window as any).weft.updatedAt as number)) - returned} ms after the CLI returned`);
    const kinds = await page.evaluate((sel) => (window as any).weft.cy.edges(sel).map((e: any) => e.hasClass('planned')), edge(c.alpine2.id, nets.bridge.Id));
    assert.deepEqual(kinds, [true], 'one dotted edge: the network it will join when started');
  });

  await t.test('after weftd is killed and restarted the page reconnects by itself', async () => {
    await d.kill9();
    await page.waitForFunction(() => document.getElementById('status')!.dataset.state === 'down', undefined, { timeout: 5000 });
    const before = await page.evaluate(() => (window as any).weft.seq as number);
    await d.restart();
    await page.waitForFunction((s) => document.getElementById('status')!.dataset.state === 'live' && (window as any).weft.seq !== s, before, { timeout: 10_000 });
    assert.equal(await page.textContent('#counts'), '1 host · 4 networks · 4 containers · 3 endpoints');
    await d.dockerOk(['network', 'connect', 'bridge', 'alpine3']);
    await page.waitForFunction(([cid, nid]) => (window as any).weft.cy.edges(`[source = "c:${cid}"][target = "n:${nid}"]`).nonempty(), [c.alpine3.id, nets.bridge.Id], { timeout: 1000, polling: 20 });
    assert.deepEqual(pageErrors, []);
  });
});
