import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, startDaemon, type Daemon, type DaemonKind } from '../test/helpers/daemons.js';

// Times everyday operations on each engine (weftd and the real dockerd), started in fresh
// namespaces by the test harness: once through the docker CLI (what users feel, dominated by the
// CLI's own start-up) and once through the Engine API directly (what the daemon costs).
//
//   node dist/bench/cli-ops.js [--smoke] [--engines weft,docker]

export interface OpStats {
  op: string;
  n: number;
  samples: number[]; // ms
  median: number;
  p90: number;
  error?: string;
}

export interface EngineResult {
  kind: DaemonKind;
  version?: string;
  error?: string;
  ops: OpStats[];
}

export interface BenchOptions {
  smoke: boolean;
  engines: DaemonKind[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function stats(op: string, samples: number[], error?: string): OpStats {
  const s = [...samples].sort((a, b) => a - b);
  return { op, n: s.length, samples, median: quantile(s, 0.5), p90: quantile(s, 0.9), error };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function cli(d: Daemon, args: string[]): Promise<string> {
  const r = await d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function api(d: Daemon, method: string, path: string, body?: unknown): Promise<any> {
  const r = await d.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.trim()}`);
  return r.json;
}

/** A pair of operations (make + undo), each timed on its own; one untimed warm-up round first. */
async function pair(
  out: OpStats[],
  names: [string, string],
  n: number,
  make: (i: number) => Promise<string>,
  undo: (handle: string) => Promise<void>,
): Promise<void> {
  const a: number[] = [];
  const b: number[] = [];
  try {
    await undo(await make(-1));
    for (let i = 0; i < n; i++) {
      let handle = '';
      a.push(await timed(async () => void (handle = await make(i))));
      b.push(await timed(() => undo(handle)));
    }
    out.push(stats(names[0], a), stats(names[1], b));
  } catch (err) {
    const msg = String(err instanceof Error ? err.message : err).split('\n')[0]!;
    out.push(stats(names[0], a, msg), stats(names[1], b, msg));
  }
}

async function repeat(out: OpStats[], name: string, n: number, fn: () => Promise<unknown>): Promise<void> {
  const s: number[] = [];
  try {
    await fn();
    for (let i = 0; i < n; i++) s.push(await timed(async () => void (await fn())));
    out.push(stats(name, s));
  } catch (err) {
    out.push(stats(name, s, String(err instanceof Error ? err.message : err).split('\n')[0]));
  }
}

export async function benchEngine(kind: DaemonKind, smoke: boolean): Promise<EngineResult> {
  const nNet = smoke ? 2 : 20;
  const nRun = smoke ? 2 : 10;
  const nRead = smoke ? 2 : 20;
  let d: Daemon;
  try {
    d = await startDaemon(kind);
  } catch (err) {
    return { kind, error: String(err instanceof Error ? err.message : err).split('\n')[0], ops: [] };
  }
  const ops: OpStats[] = [];
  try {
    const v = await api(d, 'GET', '/version').catch(() => undefined);
    // A little state so that the reads have something to list.
    await cli(d, ['network', 'create', 'bench-static']);
    await cli(d, ['run', '-d', '--name', 'bench-static', '--network', 'bench-static', 'alpine', 'sleep', '600']);

    // Through the docker CLI.
    await pair(ops, ['cli: network create', 'cli: network rm'], nNet, (i) => cli(d, ['network', 'create', `bench-c${i + 1}`]), async (id) => void (await cli(d, ['network', 'rm', id])));
    await pair(ops, ['cli: run -d alpine sleep 60', 'cli: rm -f'], nRun, () => cli(d, ['run', '-d', 'alpine', 'sleep', '60']), async (id) => void (await cli(d, ['rm', '-f', id])));
    await repeat(ops, 'cli: network inspect', nRead, () => cli(d, ['network', 'inspect', 'bench-static']));
    await repeat(ops, 'cli: network ls', nRead, () => cli(d, ['network', 'ls']));

    // Through the Engine API.
    await pair(
      ops,
      ['api: POST /networks/create', 'api: DELETE /networks/{id}'],
      nNet,
      async (i) => (await api(d, 'POST', '/networks/create', { Name: `bench-a${i + 1}`, Driver: 'bridge', CheckDuplicate: true })).Id,
      async (id) => void (await api(d, 'DELETE', `/networks/${id}`)),
    );
    await pair(
      ops,
      ['api: create + start container', 'api: DELETE /containers/{id}?force'],
      nRun,
      async () => {
        const c = await api(d, 'POST', '/containers/create', { Image: 'alpine', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'bridge' } });
        await api(d, 'POST', `/containers/${c.Id}/start`);
        return c.Id as string;
      },
      async (id) => void (await api(d, 'DELETE', `/containers/${id}?force=1`)),
    );
    await repeat(ops, 'api: GET /networks/{name}', nRead, () => api(d, 'GET', '/networks/bench-static'));
    await repeat(ops, 'api: GET /networks', nRead, () => api(d, 'GET', '/networks'));
    await repeat(ops, 'api: GET /_ping', nRead, () => d.api('GET', '/_ping'));
    return { kind, version: v?.Version, ops };
  } finally {
    // A teardown problem (a leak) is reported but does not throw away the measurements.
    await d.stop().catch((err) => console.error(`[bench] ${kind}: ${err instanceof Error ? err.message : err}`));
  }
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : '-');

export function renderTable(results: EngineResult[]): string {
  const weft = results.find((r) => r.kind === 'weft');
  const docker = results.find((r) => r.kind === 'docker');
  const opNames = [...new Set(results.flatMap((r) => r.ops.map((o) => o.op)))];
  const lines = ['| operation | n | dockerd median ms | dockerd p90 ms | weft median ms | weft p90 ms | weft/dockerd (median) |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const op of opNames) {
    const w = weft?.ops.find((o) => o.op === op);
    const dk = docker?.ops.find((o) => o.op === op);
    const ratio = w && dk && !w.error && !dk.error && dk.median > 0 ? (w.median / dk.median).toFixed(2) + 'x' : '-';
    const cell = (o: OpStats | undefined, v: 'median' | 'p90') => (o ? (o.error && o.n === 0 ? 'error' : fmt(o[v])) : '-');
    lines.push(`| ${op} | ${w?.n ?? dk?.n ?? 0} | ${cell(dk, 'median')} | ${cell(dk, 'p90')} | ${cell(w, 'median')} | ${cell(w, 'p90')} | ${ratio} |`);
  }
  const notes: string[] = [];
  for (const r of results) {
    if (r.error) notes.push(`- ${r.kind}: did not start: ${r.error}`);
    for (const o of r.ops) if (o.error) notes.push(`- ${r.kind} ${o.op}: ${o.error}`);
  }
  return lines.join('\n') + (notes.length ? '\n\n' + notes.join('\n') : '');
}

export async function runCliOps(opts: BenchOptions): Promise<{ results: EngineResult[]; markdown: string }> {
  const results: EngineResult[] = [];
  for (const kind of opts.engines) {
    console.error(`[bench] cli-ops on ${kind}${opts.smoke ? ' (smoke)' : ''}...`);
    results.push(await benchEngine(kind, opts.smoke));
  }
  const versions = results.map((r) => `${r.kind}${r.version ? ' ' + r.version : ''}${r.error ? ' (not started)' : ''}`).join(', ');
  const markdown =
    `## cli-ops${opts.smoke ? ' (smoke, N=2)' : ''}\n\n` +
    `${new Date().toISOString()}; engines: ${versions}; node ${process.version}, kernel ${release()}. ` +
    `Each engine in its own network namespace (test/helpers/daemons.ts); CLI = /usr/local/bin/docker over the unix socket; ` +
    `API = one node:http request per call, no keep-alive; one untimed warm-up round per operation.\n\n` +
    renderTable(results) +
    '\n';
  return { results, markdown };
}

export function parseArgs(argv: string[]): BenchOptions {
  const smoke = argv.includes('--smoke');
  const i = argv.indexOf('--engines');
  const engines = (i >= 0 ? argv[i + 1] ?? '' : process.env.WEFT_BENCH_ENGINES ?? 'weft,docker').split(',').filter(Boolean) as DaemonKind[];
  for (const e of engines) if (e !== 'weft' && e !== 'docker') throw new Error(`unknown engine '${e}' (weft, docker)`);
  return { smoke, engines };
}

/** Full runs write bench/results/latest.{md,json}; --smoke runs write smoke.{md,json} so they never replace real numbers. */
export function writeResults(markdown: string, results: unknown, smoke = false): void {
  const dir = join(REPO_ROOT, 'bench/results');
  const base = smoke ? 'smoke' : 'latest';
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${base}.md`), `# weft benchmarks\n\n${markdown}`);
  writeFileSync(join(dir, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
  console.error(`[bench] wrote bench/results/${base}.md and ${base}.json`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = parseArgs(process.argv.slice(2));
  const { results, markdown } = await runCliOps(opts);
  console.log(markdown);
  writeResults(markdown, { 'cli-ops': results }, opts.smoke);
}
