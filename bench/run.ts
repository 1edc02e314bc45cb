import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, type DaemonKind } from '../test/helpers/daemons.js';
import { benchEngine, parseArgs, renderTable, writeResults, type EngineResult } from './cli-ops.js';
import { dnsEngine, renderDns, type DnsEngineResult } from './dns/engines.js';
import { ENGINE_KINDS, ENGINE_LABEL, fmtMs, type OpStats } from './lib.js';
import { scaleSvg } from './plot.js';
import { kernelFloor, renderFloor, type FloorResult } from './kernel-floor.js';
import { profileWeft, renderProfile, type ProfileResult } from './profile.js';
import { renderScale, scaleEngine, type ScaleResult } from './scale.js';

// Runs every benchmark, engine by engine (weftd, dockerd, podman; one daemon at a time, each in
// its own network namespace), prints the tables and writes bench/results/latest.{md,json} and
// latest-scale.svg (npm run bench [-- options]; --smoke writes smoke.* instead).
//   --smoke                        tiny N, weft only (CI; < 30 s)
//   --engines weft,docker,podman   which engines (default all three; WEFT_BENCH_ENGINES too)
//   --only ops,scale,dns,profile,floor  which sections (default all)
//   --out DIR                      where to write results (default bench/results; WEFT_BENCH_OUT too)

const opts = parseArgs(process.argv.slice(2));
const want = (s: string) => !opts.only || opts.only.includes(s);
const smoke = opts.smoke;
const t0 = Date.now();

const ops: EngineResult[] = [];
const scale: ScaleResult[] = [];
const dns: DnsEngineResult[] = [];
let profile: ProfileResult | undefined;
let floor: FloorResult | undefined;

const levels = smoke ? [2, 5] : [10, 100, 500, 1000];
const reps = smoke ? { net: 2, run: 1, read: 2 } : { net: 10, run: 5, read: 20 };
for (const kind of opts.engines) {
  if (want('ops')) {
    console.error(`[bench] ops on ${kind}...`);
    ops.push(await benchEngine(kind, smoke));
  }
  if (want('dns')) {
    console.error(`[bench] dns on ${kind}...`);
    dns.push(await dnsEngine(kind, { seconds: smoke ? 1 : 10, clients: 4 }));
  }
  if (want('scale')) {
    console.error(`[bench] scale on ${kind}...`);
    scale.push(await scaleEngine(kind, levels, reps, smoke ? 200 : 15_000));
  }
}
if (want('profile') && opts.engines.includes('weft')) {
  console.error('[bench] profile of weft container start...');
  profile = await profileWeft(smoke ? 2 : 30);
}
if (want('floor') && opts.engines.includes('weft')) {
  console.error('[bench] kernel floor of a connect + disconnect...');
  floor = await kernelFloor(smoke ? 10 : 200);
}

// ---------------------------------------------------------------------------------------------
// Headline: each figure as absolute numbers and weft/dockerd, weft/podman ratios.

type Fig = { label: string; unit: string; get: (k: DaemonKind) => number | undefined; higherIsBetter?: boolean; goal?: (w: number, d?: number, p?: number) => string };
const opMedian = (k: DaemonKind, op: string) => {
  const o: OpStats | undefined = ops.find((r) => r.kind === k)?.ops.find((x) => x.op === op);
  return o && o.n > 0 ? o.median : undefined;
};
const scaleAt = (k: DaemonKind, L: number, op: string) => {
  const lv = scale.find((r) => r.kind === k)?.levels;
  const l = lv?.find((x) => x.networks === L) ?? lv?.at(-1);
  const o = l?.ops.find((x) => x.op === op);
  return o && o.n > 0 ? o.median : undefined;
};
const best = (d?: number, p?: number) => Math.min(...[d, p].filter((x): x is number => x !== undefined && Number.isFinite(x)));
const le = (w: number, limit: number) => (Number.isFinite(limit) ? (w <= limit ? 'met' : 'NOT met') : '-');
const costGoal = (factor: number) => (w: number, d?: number, p?: number) => {
  const b = best(d, p);
  const parts = [`≤ best peer: ${le(w, b)}`];
  if (factor > 1 && d !== undefined) parts.push(`≥ ${factor}× dockerd: ${le(w, d / factor)}`);
  return parts.join('; ');
};
const lsN = smoke ? 5 : 500;
const topN = smoke ? 5 : 1000;
const figures: Fig[] = [
  { label: 'network create + rm (API)', unit: 'ms', get: (k) => opMedian(k, 'api: network create + rm'), goal: costGoal(3) },
  { label: 'network create + rm (CLI)', unit: 'ms', get: (k) => opMedian(k, 'cli: network create + rm'), goal: costGoal(1) },
  { label: 'network connect + disconnect, running container (API)', unit: 'ms', get: (k) => opMedian(k, 'api: network connect + disconnect'), goal: costGoal(3) },
  { label: 'network connect + disconnect (CLI)', unit: 'ms', get: (k) => opMedian(k, 'cli: network connect + disconnect'), goal: costGoal(1) },
  { label: 'run -d (create+start) + rm -f (API)', unit: 'ms', get: (k) => opMedian(k, 'api: run (create+start) + rm -f'), goal: costGoal(1.5) },
  { label: 'run -d + rm -f (CLI)', unit: 'ms', get: (k) => opMedian(k, 'cli: run -d + rm -f'), goal: costGoal(1) },
  { label: 'network inspect (API)', unit: 'ms', get: (k) => opMedian(k, 'api: GET /networks/{name}'), goal: costGoal(1) },
  { label: `network ls with ${lsN} networks (API)`, unit: 'ms', get: (k) => scaleAt(k, lsN, 'network ls'), goal: costGoal(1) },
  { label: `network create + rm with ${topN} networks + ${topN} containers (API)`, unit: 'ms', get: (k) => scaleAt(k, topN, 'network create + rm'), goal: costGoal(3) },
  { label: `connect + disconnect with ${topN} networks + ${topN} containers (API)`, unit: 'ms', get: (k) => scaleAt(k, topN, 'network connect + disconnect'), goal: costGoal(3) },
  { label: `run -d + rm -f with ${topN} networks + ${topN} containers (API)`, unit: 'ms', get: (k) => scaleAt(k, topN, 'run (create+start) + rm -f'), goal: costGoal(1.5) },
  {
    label: 'embedded DNS qps (dnsperf -c 4)',
    unit: 'qps',
    higherIsBetter: true,
    get: (k) => dns.find((r) => r.kind === k)?.plain?.qps,
    goal: (w, d, p) => {
      const b = Math.max(...[d, p].filter((x): x is number => x !== undefined && Number.isFinite(x)));
      return Number.isFinite(b) ? `≥ 1.3× best peer: ${w >= 1.3 * b ? 'met' : 'NOT met'}` : '-';
    },
  },
  { label: 'embedded DNS p99 latency (-v run)', unit: 'ms', get: (k) => dns.find((r) => r.kind === k)?.verbose?.p99Ms, goal: costGoal(1) },
  { label: `daemon startup, store with ${topN} networks + ${topN} containers`, unit: 'ms', get: (k) => scale.find((r) => r.kind === k)?.startup?.startupMs, goal: costGoal(1) },
  {
    label: `daemon RSS after that restart`,
    unit: 'MB',
    get: (k) => scale.find((r) => r.kind === k)?.startup?.rssAfterMb,
    goal: (w) => `< 80 MB: ${w < 80 ? 'met' : 'NOT met'}`,
  },
  { label: `daemon RSS with the full store (before restart)`, unit: 'MB', get: (k) => scale.find((r) => r.kind === k)?.startup?.rssBeforeMb, goal: (w) => `< 80 MB: ${w < 80 ? 'met' : 'NOT met'}` },
  { label: `daemon RSS with the full store, after 15 s idle (before restart)`, unit: 'MB', get: (k) => scale.find((r) => r.kind === k)?.startup?.rssSettledMb, goal: (w) => `< 80 MB: ${w < 80 ? 'met' : 'NOT met'}` },
];
const kinds = ENGINE_KINDS.filter((k) => opts.engines.includes(k));
const others = kinds.filter((k) => k !== 'weft');
const fmtV = (v: number | undefined, unit: string) => (v === undefined || !Number.isFinite(v) ? '-' : unit === 'qps' ? v.toFixed(0) : fmtMs(v));
const head = ['figure', 'unit', ...kinds.map((k) => ENGINE_LABEL[k]), ...others.map((k) => `weft/${ENGINE_LABEL[k]}`), 'goal'];
const summary = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
for (const f of figures) {
  const v = Object.fromEntries(kinds.map((k) => [k, f.get(k)])) as Record<DaemonKind, number | undefined>;
  const w = v.weft;
  const ratios = others.map((k) => (w !== undefined && v[k] !== undefined && Number.isFinite(w) && Number.isFinite(v[k]!) && v[k]! > 0 ? `${(w / v[k]!).toFixed(2)}x` : '-'));
  const goal = f.goal && w !== undefined && Number.isFinite(w) && kinds.includes('weft') ? f.goal(w, v.docker, v.podman) : '-';
  summary.push(`| ${[f.label, f.unit, ...kinds.map((k) => fmtV(v[k], f.unit)), ...ratios, goal].join(' | ')} |`);
}

// The physical limit: the same join + leave plans replayed in a tight loop (bench/kernel-floor.ts).
const floorLine = (() => {
  const api = opMedian('weft', 'api: network connect + disconnect');
  const helper = floor?.rows.find((r) => r.transport.startsWith('helper'));
  if (!floor || !helper || api === undefined) return '';
  const ratio = api / helper.total;
  return `\nKernel floor of a connect + disconnect (the bridge driver's plans replayed through weft-kernel): ${fmtMs(helper.total)} ms (the agent's own netlink time ${fmtMs(floor.kernelMs)} ms); the API figure above is ${ratio.toFixed(1)}× that floor (goal ≤ 3×: ${ratio <= 3 ? 'met' : 'NOT met'}).\n`;
})();

const env = `${new Date().toISOString()}; node ${process.version}, kernel ${release()}; ${smoke ? 'SMOKE run (tiny N, numbers meaningless)' : 'full run'}; ${((Date.now() - t0) / 1000).toFixed(0)} s. Each engine runs alone in its own network namespace with private roots and socket (test/helpers/daemons.ts): weftd (${ops.find((r) => r.kind === 'weft')?.version ?? '?'}), dockerd ${ops.find((r) => r.kind === 'docker')?.version ?? ''} (Debian docker.io, overlay2, iptables), podman ${ops.find((r) => r.kind === 'podman')?.version ?? ''} system service (Debian, runc, cgroupfs, netavark + aardvark-dns). API = one node:http request per call over the unix socket, no keep-alive; CLI = /usr/local/bin/docker against each socket. Medians of repeated runs after one untimed warm-up. Ratios are weft/engine: below 1 = weft cheaper (for qps: above 1 = weft faster).`;

const sections: string[] = [];
sections.push(`${env}\n\n## Summary\n\n${summary.join('\n')}\n${floorLine}`);
if (ops.length) sections.push(`## Operations (empty-ish store: 2 user networks, 1 running container)\n\n${renderTable(ops)}\n`);
if (scale.length) sections.push(`## Scale (API)\n\n![cost against scale](${smoke ? 'smoke' : 'latest'}-scale.svg)\n\nAt each level L the store holds L user networks (explicit /24s) and L containers (created, **not started**: starting 1,000 takes minutes on dockerd/podman here; container i on network i); one probe container runs and is connected/disconnected. Reps per level: ${reps.net} network, ${reps.run} run, ${reps.read} reads. podman creates bridges lazily (on first container start), weft and dockerd when the network is created.\n\n${renderScale(scale)}`);
if (dns.length) sections.push(`## Embedded DNS\n\n${renderDns(dns)}`);
if (profile) sections.push(`## Where weft's container start goes\n\n${renderProfile(profile)}`);
if (floor) sections.push(`## Kernel floor: connect + disconnect plans in a tight loop\n\nThe bridge driver's join and leave plans for one endpoint, replayed against one sandbox through each way of reaching the kernel (bench/kernel-floor.ts). The helper row is what weftd uses; the addon rows are the alternative measured for the design choice (a Node addon with the same C core).\n\n${renderFloor(floor)}`);
const markdown = sections.join('\n');
console.log(markdown);
const outDir = opts.out ?? join(REPO_ROOT, 'bench/results');
writeResults(markdown, { ops, scale, dns, profile, floor }, smoke, outDir);
if (scale.length) writeFileSync(join(outDir, `${smoke ? 'smoke' : 'latest'}-scale.svg`), scaleSvg(scale));
