import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, startDaemon, type Daemon, type DaemonKind } from '../test/helpers/daemons.js';
import { api, cli, ENGINE_KINDS, ENGINE_LABEL, fmtMs, pair, ratio, repeat, type OpStats } from './lib.js';
export type { OpStats } from './lib.js';

// Times everyday operations on each engine (weftd, the real dockerd, podman's API service), started in fresh
// namespaces by the test harness: once through the docker CLI (what users feel, dominated by the
// CLI's own start-up) and once through the Engine API directly (what the daemon costs).
//
//   node dist/bench/cli-ops.js [--smoke] [--engines weft,docker,podman]

export interface EngineResult {
  kind: DaemonKind;
  version?: string;
  error?: string;
  ops: OpStats[];
}

export interface BenchOptions {
  smoke: boolean;
  engines: DaemonKind[];
  /** Sections to run (default all): ops, scale, dns, profile. */
  only?: string[];
  /** Where results go (default bench/results). */
  out?: string;
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
    await cli(d, ['network', 'create', '--subnet', '10.96.0.0/24', 'bench-static']);
    await cli(d, ['network', 'create', '--subnet', '10.96.1.0/24', 'bench-conn']);
    await cli(d, ['run', '-d', '--name', 'bench-static', '--network', 'bench-static', 'alpine', 'sleep', '600']);

    // Through the docker CLI.
    await pair(ops, ['cli: network create', 'cli: network rm', 'cli: network create + rm'], nNet, (i) => cli(d, ['network', 'create', `bench-c${i + 1}`]), async (id) => void (await cli(d, ['network', 'rm', id])));
    await pair(
      ops,
      ['cli: network connect', 'cli: network disconnect', 'cli: network connect + disconnect'],
      nNet,
      async () => (await cli(d, ['network', 'connect', 'bench-conn', 'bench-static']), 'bench-static'),
      async (c) => void (await cli(d, ['network', 'disconnect', 'bench-conn', c])),
    );
    await pair(ops, ['cli: run -d alpine sleep 60', 'cli: rm -f', 'cli: run -d + rm -f'], nRun, () => cli(d, ['run', '-d', 'alpine', 'sleep', '60']), async (id) => void (await cli(d, ['rm', '-f', id])));
    await repeat(ops, 'cli: network inspect', nRead, () => cli(d, ['network', 'inspect', 'bench-static']));
    await repeat(ops, 'cli: network ls', nRead, () => cli(d, ['network', 'ls']));

    // Through the Engine API.
    await pair(
      ops,
      ['api: POST /networks/create', 'api: DELETE /networks/{id}', 'api: network create + rm'],
      nNet,
      async (i) => (await api(d, 'POST', '/networks/create', { Name: `bench-a${i + 1}`, Driver: 'bridge', CheckDuplicate: true })).Id,
      async (id) => void (await api(d, 'DELETE', `/networks/${id}`)),
    );
    await pair(
      ops,
      ['api: POST /networks/{id}/connect', 'api: POST /networks/{id}/disconnect', 'api: network connect + disconnect'],
      nNet,
      async () => (await api(d, 'POST', '/networks/bench-conn/connect', { Container: 'bench-static' }), 'bench-static'),
      async (c) => void (await api(d, 'POST', '/networks/bench-conn/disconnect', { Container: c, Force: false })),
    );
    await pair(
      ops,
      ['api: create + start container', 'api: DELETE /containers/{id}?force', 'api: run (create+start) + rm -f'],
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
  } catch (err) {
    return { kind, error: String(err instanceof Error ? err.message : err).split('\n')[0], ops };
  } finally {
    // A teardown problem (a leak) is reported but does not throw away the measurements.
    await d.stop().catch((err) => console.error(`[bench] ${kind}: ${err instanceof Error ? err.message : err}`));
  }
}

export function renderTable(results: EngineResult[]): string {
  const by = (k: DaemonKind) => results.find((r) => r.kind === k);
  const weft = by('weft');
  const kinds = ENGINE_KINDS.filter((k) => by(k));
  const opNames = [...new Set(results.flatMap((r) => r.ops.map((o) => o.op)))];
  const head = ['operation', 'n', ...kinds.flatMap((k) => [`${ENGINE_LABEL[k]} median ms`, `${ENGINE_LABEL[k]} p90 ms`])];
  const others = kinds.filter((k) => k !== 'weft');
  if (weft) head.push(...others.map((k) => `weft/${ENGINE_LABEL[k]}`));
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  const ok = (o: OpStats | undefined) => (o && o.n > 0 ? o : undefined);
  for (const op of opNames) {
    const cells = [op, String(Math.max(...results.map((r) => r.ops.find((o) => o.op === op)?.n ?? 0)))];
    for (const k of kinds) {
      const o = by(k)?.ops.find((x) => x.op === op);
      cells.push(o ? (o.n === 0 ? 'error' : fmtMs(o.median)) : '-', o && o.n ? fmtMs(o.p90) : '-');
    }
    if (weft) {
      const w = ok(weft.ops.find((o) => o.op === op));
      for (const k of others) cells.push(ratio(w?.median, ok(by(k)?.ops.find((o) => o.op === op))?.median));
    }
    lines.push(`| ${cells.join(' | ')} |`);
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
  const dflt = smoke ? 'weft' : 'weft,docker,podman';
  const engines = (i >= 0 ? argv[i + 1] ?? '' : process.env.WEFT_BENCH_ENGINES ?? dflt).split(',').filter(Boolean) as DaemonKind[];
  for (const e of engines) if (!ENGINE_KINDS.includes(e)) throw new Error(`unknown engine '${e}' (${ENGINE_KINDS.join(', ')})`);
  const j = argv.indexOf('--only');
  const only = j >= 0 ? (argv[j + 1] ?? '').split(',').filter(Boolean) : undefined;
  const k = argv.indexOf('--out');
  const out = k >= 0 ? argv[k + 1] : process.env.WEFT_BENCH_OUT || undefined;
  return { smoke, engines, only, out };
}

/** Full runs write bench/results/latest.{md,json}; --smoke runs write smoke.{md,json} so they never replace real numbers. */
export function writeResults(markdown: string, results: unknown, smoke = false, dir = join(REPO_ROOT, 'bench/results')): void {
  const base = smoke ? 'smoke' : 'latest';
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${base}.md`), `# weft benchmarks\n\n${markdown}`);
  writeFileSync(join(dir, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
  console.error(`[bench] wrote ${join(dir, base)}.md and ${base}.json`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = parseArgs(process.argv.slice(2));
  const { results, markdown } = await runCliOps(opts);
  console.log(markdown);
  writeResults(markdown, { 'cli-ops': results }, opts.smoke);
}
