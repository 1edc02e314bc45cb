import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { mulberry32 } from '../../src/common/faults.js';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { childrenOf, collect, dockerChild, fdKinds, held, rawConnect, sleep, strayErrors, until, upgradeRequest } from '../helpers/clients.js';

// Issue 11, resource bounds: create/rm cycles of networks and containers, and streaming clients
// killed at random moments, leave weftd's RSS (within a tolerance), descriptors, children, the
// kernel's links and nftables elements, processes, mounts and namespaces where they started.
//
// The suite runs reduced counts (CI); `npm run soak` (WEFT_SOAK=1) runs the issue's 1,000 of each.
// WEFT_SOAK_SEED picks the random sequence (printed, so a failure can be replayed).

const SOAK = process.env.WEFT_SOAK === '1';
const N = {
  networks: 1000, // API create + rm, ~1 ms each: the full count even in CI
  containers: SOAK ? 1000 : 40, // run -d + rm -f: ~80 ms each idle, 0.5 s on a busy machine
  clients: SOAK ? 1000 : 300,
};
const SEED = Number(process.env.WEFT_SOAK_SEED ?? Date.now() % 100000);
/**
 * RSS is allowed to end above its start by the V8 heap's slack. Right after a burst Node keeps
 * freed old-space pages and a grown young generation (measured here: +15-20 MB after 1,000 killed
 * logs -f or attach clients, +30 MB after the soak's mixed 1,000); its memory reducer returns them
 * once the daemon idles (each of those kinds was back within 3 MB after 20 s). So the check waits
 * up to 45 s of idle for RSS to come back within 16 MB: a leak of 16 KB per cycle over the soak's
 * 1,000 cycles stays above it. The exact counters (fds, children, links, elements, processes) are
 * the sharp test; RSS guards against growth that idling does not give back.
 */
const RSS_SLACK_KB = 16 * 1024;

interface Snapshot {
  rssKb: number;
  fds: number;
  children: number;
  links: number;
  nftElements: number;
  processes: number;
  mounts: number;
  netns: number;
}

function snapshot(d: Daemon): Snapshot {
  const pid = d.pid()!;
  const h = held(pid, d.socket);
  const nft = JSON.parse(d.netns.run('nft', ['-j', 'list', 'table', 'inet', 'weft'])) as { nftables: Record<string, { elem?: unknown[] }>[] };
  const nftElements = nft.nftables.reduce((n, o) => n + (o.set?.elem?.length ?? 0) + (o.map?.elem?.length ?? 0), 0);
  const roots = [d.execRoot, d.dataRoot];
  let processes = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (roots.some((r) => cmd.includes(r))) processes++;
    } catch {
      /* gone */
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => roots.some((r) => l.split(' ')[4]?.startsWith(r))).length;
  return {
    rssKb: h.rssKb,
    fds: h.fds,
    children: h.children,
    links: d.netns.run('ip', ['-o', 'link']).split('\n').filter(Boolean).length,
    nftElements,
    processes,
    mounts,
    netns: readdirSync(`${d.execRoot}/netns`).length,
  };
}

/** Waits until every counter is back to `base` (probes, exiting execs, unmounts and the heap's shrinking take a while). */
async function settled(d: Daemon, base: Snapshot, label: string): Promise<Snapshot> {
  let now = snapshot(d);
  const exact = (s: Snapshot) => s.fds === base.fds && s.children === base.children && s.links === base.links && s.nftElements === base.nftElements && s.processes === base.processes && s.mounts === base.mounts && s.netns === base.netns;
  await until(() => exact((now = snapshot(d))) && now.rssKb <= base.rssKb + RSS_SLACK_KB, 45_000);
  const { rssKb: _r, ...counts } = now;
  const { rssKb: _b, ...baseCounts } = base;
  assert.deepEqual(counts, baseCounts, `${label}: weftd holds more than at the start (seed ${SEED}); fds ${JSON.stringify(fdKinds(d.pid()!))}; children ${JSON.stringify(childrenOf(d.pid()!))}`);
  assert.ok(now.rssKb <= base.rssKb + RSS_SLACK_KB, `${label}: RSS ${now.rssKb} kB, started at ${base.rssKb} kB (slack ${RSS_SLACK_KB} kB)`);
  console.log(`${label}: ${JSON.stringify(now)} (start ${JSON.stringify(base)})`);
  return now;
}

async function ok(d: Daemon, method: string, path: string, body?: unknown): Promise<any> {
  const r = await d.api(method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function runAndRemove(d: Daemon, i: number): Promise<void> {
  // Alternate the default bridge and a user network; every third one publishes a port (nft map elements).
  const HostConfig = { NetworkMode: i % 2 ? 'bounds-net' : 'bridge', ...(i % 3 === 0 ? { PortBindings: { '80/tcp': [{ HostPort: '' }] } } : {}) };
  const c = await ok(d, 'POST', '/containers/create', { Image: 'alpine', Cmd: ['sleep', '1000'], ExposedPorts: { '80/tcp': {} }, HostConfig });
  await ok(d, 'POST', `/containers/${c.Id}/start`);
  await ok(d, 'DELETE', `/containers/${c.Id}?force=1`);
}

type Kind = 'attach' | 'attach-stdin' | 'attach-created' | 'logs' | 'wait' | 'exec' | 'exec-plain' | 'cli';
type Moment = 'mid-headers' | 'before-answer' | 'after-head' | 'mid-stream' | 'half-close';
const KINDS: Kind[] = ['attach', 'attach-stdin', 'attach-created', 'logs', 'wait', 'exec', 'exec-plain', 'cli'];
const MOMENTS: Moment[] = ['mid-headers', 'before-answer', 'after-head', 'mid-stream', 'half-close'];

async function killedClient(d: Daemon, rand: () => number, tally: Map<string, number>): Promise<void> {
  const kind = KINDS[Math.floor(rand() * KINDS.length)];
  const moment = MOMENTS[Math.floor(rand() * MOMENTS.length)];
  const wait = Math.floor(rand() * 300);
  tally.set(kind, (tally.get(kind) ?? 0) + 1);
  if (kind === 'cli') {
    const args = [['attach', 'idle'], ['logs', '-f', 'chatty'], ['exec', 'idle', 'sleep', '0.3'], ['wait', 'idle']][Math.floor(rand() * 4)];
    const c = dockerChild(d, args);
    await sleep(100 + wait * 2);
    c.child.kill('SIGKILL');
    await c.exited;
    return;
  }
  let request: string;
  const execId = async (cmd: string[]) => (await ok(d, 'POST', '/v1.41/containers/idle/exec', { Cmd: cmd, AttachStdout: true, AttachStderr: true })).Id as string;
  switch (kind) {
    case 'attach':
      request = upgradeRequest('POST', `/v1.41/containers/${rand() < 0.5 ? 'idle' : 'chatty'}/attach?stream=1&stdout=1&stderr=1`);
      break;
    case 'attach-stdin':
      request = upgradeRequest('POST', '/v1.41/containers/chatty/attach?stream=1&stdin=1&stdout=1');
      break;
    case 'attach-created':
      request = upgradeRequest('POST', '/v1.41/containers/dormant/attach?stream=1&stdout=1');
      break;
    case 'logs':
      request = `GET /v1.41/containers/chatty/logs?follow=1&stdout=1&tail=5 HTTP/1.1\r\nHost: docker\r\n\r\n`;
      break;
    case 'wait':
      request = `POST /v1.41/containers/idle/wait HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n`;
      break;
    case 'exec':
      request = upgradeRequest('POST', `/v1.41/exec/${await execId(['sh', '-c', 'sleep 0.2; echo done'])}/start`, { Detach: false, Tty: false });
      break;
    default: {
      const body = JSON.stringify({ Detach: false, Tty: false });
      request = `POST /v1.41/exec/${await execId(['sh', '-c', 'echo a; sleep 0.2; echo b'])}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    }
  }
  const s: Socket = await rawConnect(d);
  s.on('error', () => undefined);
  if (moment === 'mid-headers') {
    s.write(request.slice(0, Math.max(1, Math.floor(request.length * rand()))));
    await sleep(wait / 3);
  } else {
    s.write(request);
    if (moment !== 'before-answer') await collect(s, moment === 'after-head' ? 150 : 150 + wait);
    if (moment === 'half-close') {
      s.end();
      await sleep(wait);
    }
  }
  s.destroy();
}

test(`resource bounds: ${N.networks} network and ${N.containers} container create/rm cycles, ${N.clients} killed streaming clients`, { timeout: SOAK ? 3_600_000 : 400_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  console.log(`seed ${SEED}${SOAK ? ' (soak)' : ''}`);
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const rand = mulberry32(SEED);
  await ok(d, 'POST', '/networks/create', { Name: 'bounds-net', CheckDuplicate: true });
  await d.dockerOk(['run', '-d', '--name', 'idle', 'alpine', 'sleep', '1000000']);
  await d.dockerOk(['run', '-d', '--name', 'chatty', 'alpine', 'sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
  await d.dockerOk(['create', '--name', 'dormant', 'alpine', 'sleep', '1000000']);
  // Warm-up: a few of each cycle, so that code paths are compiled and pools grown before the baseline.
  for (let i = 0; i < 20; i++) await ok(d, 'DELETE', `/networks/${(await ok(d, 'POST', '/networks/create', { Name: `warm-${i}` })).Id}`);
  for (let i = 0; i < 6; i++) await runAndRemove(d, i);
  const warmTally = new Map<string, number>();
  for (let i = 0; i < 16; i++) await killedClient(d, rand, warmTally);
  await sleep(2000);
  const base = snapshot(d);

  const t0 = performance.now();
  for (let i = 0; i < N.networks; i++) {
    const net = await ok(d, 'POST', '/networks/create', { Name: `cycle-${i}`, CheckDuplicate: true, Labels: { i: String(i) } });
    await ok(d, 'DELETE', `/networks/${net.Id}`);
  }
  const tNet = performance.now();
  await settled(d, base, `${N.networks} network create/rm (${Math.round(tNet - t0)} ms)`);

  for (let i = 0; i < N.containers; i++) await runAndRemove(d, i);
  const tCtr = performance.now();
  await settled(d, base, `${N.containers} run -d + rm -f (${Math.round(tCtr - tNet)} ms)`);

  const tally = new Map<string, number>();
  const lanes = 6;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < N.clients) {
        next++;
        await killedClient(d, rand, tally);
      }
    }),
  );
  const tCli = performance.now();
  const after = await settled(d, base, `${N.clients} killed streaming clients ${JSON.stringify(Object.fromEntries(tally))} (${Math.round(tCli - tCtr)} ms)`);
  assert.deepEqual(strayErrors(d), [], 'no error reached the safety net');
  assert.ok((await d.api('GET', '/_ping')).status === 200);
  // The containers the clients used are intact.
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.Status}}', 'idle', 'chatty', 'dormant']), 'running running\nrunning running\ncreated created');
  t.diagnostic(`rss ${base.rssKb} -> ${after.rssKb} kB, fds ${base.fds}, children ${base.children}, links ${base.links}, nft elements ${base.nftElements}`);
});
