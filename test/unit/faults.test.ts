import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_POINTS, FaultPlan, faultPoint, type FaultPoint } from '../../src/common/faults.js';

// Fault points: the plan parsed from WEFT_FAULTS / WEFT_FAULT_RANDOM, the list kept in step with
// the calls in src/, and a real SIGKILL at a point.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const points = Object.keys(FAULT_POINTS) as FaultPoint[];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('faults: every listed point is called exactly once in src/, and every call is listed', () => {
  const calls = new Map<string, string[]>();
  for (const file of sources(join(ROOT, 'src'))) {
    if (file.endsWith('common/faults.ts')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/faultPoint\('([^']+)'\)/g)) calls.set(m[1], [...(calls.get(m[1]) ?? []), file.slice(ROOT.length)]);
  }
  for (const p of points) assert.equal(calls.get(p)?.length, 1, `${p} should be called once, is called at ${JSON.stringify(calls.get(p) ?? [])}`);
  for (const name of calls.keys()) assert.ok(points.includes(name as FaultPoint), `${name} is called but not in FAULT_POINTS`);
  assert.ok(points.length >= 20);
});

test('faults: a rule fires at its n-th visit; "*" counts every point', () => {
  const plan = new FaultPlan({ faults: 'network.create.after-record=kill@2, container.rm.after-kill=throw' });
  assert.equal(plan.visit('network.create.after-record'), null);
  assert.equal(plan.visit('sandbox.setup.after-netns'), null);
  assert.deepEqual(plan.visit('network.create.after-record'), { action: 'kill', hit: 2 });
  assert.equal(plan.visit('network.create.after-record'), null, 'once only');
  assert.deepEqual(plan.visit('container.rm.after-kill'), { action: 'throw', hit: 1 });
  const any = new FaultPlan({ faults: '*=kill@3' });
  assert.equal(any.visit('sandbox.setup.after-record'), null);
  assert.equal(any.visit('sandbox.setup.after-netns'), null);
  assert.deepEqual(any.visit('sandbox.join.after-record'), { action: 'kill', hit: 3 });
});

test('faults: random kills are reproducible from the seed and follow the probability', () => {
  const run = (spec: string) => {
    const plan = new FaultPlan({ random: spec });
    return Array.from({ length: 2000 }, (_, i) => plan.visit(points[i % points.length]) !== null);
  };
  assert.deepEqual(run('7:0.1'), run('7:0.1'), 'same seed, same points');
  assert.notDeepEqual(run('7:0.1'), run('8:0.1'));
  const rate = run('7:0.1').filter(Boolean).length / 2000;
  assert.ok(rate > 0.07 && rate < 0.13, `about 10% (${rate})`);
  assert.equal(run('7:0').filter(Boolean).length, 0);
  assert.equal(run('7:1').filter(Boolean).length, 2000);
});

test('faults: bad specifications are refused with the list of points', () => {
  assert.throws(() => new FaultPlan({ faults: 'no.such.point=kill' }), /unknown fault point "no.such.point" \(known: network\.create\.after-record/);
  assert.throws(() => new FaultPlan({ faults: 'network.create.after-record=explode' }), /cannot parse/);
  assert.throws(() => new FaultPlan({ random: '0.5' }), /WEFT_FAULT_RANDOM: cannot parse/);
  assert.equal(new FaultPlan({}).enabled, false);
});

test('faults: disabled, faultPoint does nothing; enabled, it SIGKILLs the process after one log line', () => {
  for (const p of points) assert.equal(faultPoint(p), undefined);
  const script = `import('${join(ROOT, 'dist/src/common/faults.js')}').then((f) => { f.faultPoint('sandbox.setup.after-record'); f.faultPoint('sandbox.setup.after-record'); console.log('survived'); })`;
  const killed = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, WEFT_FAULTS: 'sandbox.setup.after-record=kill@2' }, encoding: 'utf8' });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(killed.stdout, '');
  const line = JSON.parse(killed.stderr.trim()) as Record<string, unknown>;
  assert.equal(line.faultPoint, 'sandbox.setup.after-record');
  assert.equal(line.hit, 2);
  const free = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, WEFT_FAULTS: '' }, encoding: 'utf8' });
  assert.equal(free.stdout.trim(), 'survived');
});
