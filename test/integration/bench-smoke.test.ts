// Runs the benchmark suite in --smoke mode (tiny N, weft only) so that CI exercises the bench
// code. Benchmarks are not pass/fail: this only checks that the run completes and writes its
// report. Skipped unless root (network namespaces) and weftd is built.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, weftdBuilt } from '../helpers/daemons.js';

const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : !weftdBuilt() ? 'weftd is not built' : false;

test('npm run bench -- --smoke completes and writes its report', { skip, timeout: 180_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'weft-bench-smoke-'));
  try {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/run.js'), '--smoke', '--engines', 'weft', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `bench exited ${code}\nstderr:\n${stderr.slice(-4000)}`);
    for (const f of ['smoke.md', 'smoke.json', 'smoke-scale.svg']) assert.ok(existsSync(join(out, f)), `${f} not written`);
    const md = readFileSync(join(out, 'smoke.md'), 'utf8');
    assert.match(md, /## Summary/);
    assert.match(md, /## Scale \(API\)/);
    assert.match(md, /## Kernel floor/);
    assert.match(stdout, /network create \+ rm \(API\) \| ms \| \d/, 'weft has a network create + rm figure');
    const json = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    const weftOps = json.ops.find((r: { kind: string }) => r.kind === 'weft');
    assert.ok(weftOps && !weftOps.error, `weft ops section failed: ${weftOps?.error}`);
    for (const o of weftOps.ops) assert.ok(!o.error, `weft ${o.op}: ${o.error}`);
    const weftScale = json.scale.find((r: { kind: string }) => r.kind === 'weft');
    assert.equal(weftScale.levels.length, 2);
    assert.ok(!json.floor.error && json.floor.rows.length === 4, `kernel floor: ${json.floor.error}`);
    for (const r of json.floor.rows) assert.ok(r.total > 0, `floor ${r.transport} was timed`);
    assert.ok(weftScale.startup?.startupMs > 0, 'restart on the full store was timed');
    assert.match(readFileSync(join(out, 'smoke-scale.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*<polyline/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
