import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSubnet, quantile, ratio, stats } from '../../bench/lib.js';
import { scaleSvg } from '../../bench/plot.js';
import { foldProfile } from '../../bench/profile.js';
import { renderScale, type ScaleResult } from '../../bench/scale.js';
import { renderTable } from '../../bench/cli-ops.js';
import { REPO_ROOT } from '../helpers/daemons.js';

test('quantile and stats: median and p90 of samples', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  const s = stats('x', [5, 1, 3]);
  assert.equal(s.median, 3);
  assert.equal(s.p90, 5);
  assert.equal(s.n, 3);
});

test('benchSubnet: distinct /24s for 1,000 networks, none overlapping the fixed ones', () => {
  const all = new Set(Array.from({ length: 1000 }, (_, i) => benchSubnet(i)));
  assert.equal(all.size, 1000);
  assert.equal(benchSubnet(0), '10.100.0.0/24');
  assert.equal(benchSubnet(999), '10.103.231.0/24');
  for (const fixed of ['10.95.0.0/24', '10.96.0.0/24', '10.97.0.0/24', '10.98.0.0/24', '10.99.0.0/24']) assert.ok(!all.has(fixed));
});

test('ratio: weft/other, dash when unknown', () => {
  assert.equal(ratio(1, 4), '0.25x');
  assert.equal(ratio(undefined, 4), '-');
  assert.equal(ratio(1, 0), '-');
});

const op = (name: string, median: number) => ({ op: name, n: 3, samples: [median], median, p90: median });

test('renderTable: one column pair per engine and weft/engine ratios', () => {
  const md = renderTable([
    { kind: 'weft', ops: [op('api: x', 1)] },
    { kind: 'docker', ops: [op('api: x', 4)] },
    { kind: 'podman', error: 'did not start', ops: [] },
  ]);
  assert.match(md, /\| api: x \| 3 \| 1\.00 \| 1\.00 \| 4\.00 \| 4\.00 \| - \| - \| 0\.25x \| - \|/);
  assert.match(md, /podman: did not start/);
});

const level = (L: number, ms: number) => ({
  networks: L,
  containers: L,
  fillNetworkMs: 1,
  fillContainerMs: 2,
  rssMb: 50,
  ops: [op('network create + rm', ms), op('network ls', ms / 10)],
});

test('renderScale and scaleSvg: levels, flatness and one line per engine', () => {
  const results: ScaleResult[] = [
    { kind: 'weft', levels: [level(10, 2), level(100, 2)], startup: { networks: 100, containers: 100, startupMs: 300, rssBeforeMb: 60, rssSettledMb: 58, rssAfterMb: 55, rssIdleMb: 50, idleStartupMs: 200 } },
    { kind: 'docker', levels: [level(10, 50), level(100, 100)] },
  ];
  const md = renderScale(results);
  assert.match(md, /\| network create \+ rm \| 2\.00 \| 50\.0 \| 2\.00 \| 100 \|/);
  assert.match(md, /\| network create \+ rm \| 1\.00x \| 2\.00x \|/);
  assert.match(md, /\| weft \| 100 \| 100 \| 200 \| 300 \|/);
  const svg = scaleSvg(results);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 4); // 2 engines × 2 panels with data
  assert.match(svg, /<\/svg>\n$/);
});

test('foldProfile: self time by file and inclusive time of weft functions', () => {
  const url = (f: string) => `file://${REPO_ROOT}dist/src/${f}`;
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: 'start', url: url('engine/containers.js'), lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: 'spawn', url: 'node:internal/child_process', lineNumber: 0 }, children: [] },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 }, children: [] },
    ],
    samples: [2, 3, 3, 4],
    timeDeltas: [1000, 2000, 2000, 50000],
  };
  const f = foldProfile(profile);
  assert.equal(f.busyMs, 5);
  assert.deepEqual(f.byFile[0], { file: 'node:internal/child_process', selfMs: 4 });
  assert.equal(f.topInclusive[0]!.totalMs, 5);
  assert.match(f.topInclusive[0]!.fn, /^start .*engine\/containers\.js:10$/);
});
