import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startDaemon } from '../test/helpers/daemons.js';
import { api, errMsg, fmtMs, median, timed } from './lib.js';

// Where weft's container start goes: weftd runs under `node --cpu-prof` with --log-level debug
// (ConmonRuntime logs lastStartTimings per start), the bench times the API phases of N
// create + start + rm rounds on a user network, and the CPU profile is folded by source file and
// by function (self and inclusive time).

export interface ProfileResult {
  n: number;
  error?: string;
  api: Record<string, number>; // median ms per API phase
  runtime: Record<string, number>; // median ms per ConmonRuntime.start phase
  byFile: { file: string; selfMs: number }[];
  topSelf: { fn: string; selfMs: number }[];
  topInclusive: { fn: string; totalMs: number }[];
  profiledMs: number;
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  if (u.startsWith(REPO_ROOT)) return u.slice(REPO_ROOT.length).replace(/^dist\//, '');
  return u.replace(/^.*\/node_modules\//, 'node_modules/');
}

export function foldProfile(profile: { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  const name = (n: CpuNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;
  const idle = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);
  const byFile = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  let busy = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame.functionName;
    if (f === '(idle)') continue;
    busy += ms;
    const file = n.callFrame.url ? shortUrl(n.callFrame.url) : f;
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    if (!idle.has(f) || f === '(garbage collector)') selfByFn.set(name(n), (selfByFn.get(name(n)) ?? 0) + ms);
  }
  // Inclusive time per function (counted once per stack even when recursive).
  const incl = new Map<string, number>();
  const walk = (id: number, stack: Set<string>): number => {
    const n = byId.get(id)!;
    let total = self.get(id) ?? 0;
    const key = name(n);
    const added = !stack.has(key);
    if (added) stack.add(key);
    for (const c of n.children ?? []) total += walk(c, stack);
    if (added) {
      stack.delete(key);
      if (n.callFrame.url.includes('/dist/src/')) incl.set(key, (incl.get(key) ?? 0) + total);
    }
    return total;
  };
  const root = profile.nodes[0]!;
  walk(root.id, new Set());
  const sortDesc = <T>(m: Map<string, number>, mk: (k: string, v: number) => T) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => mk(k, v));
  return {
    busyMs: busy,
    byFile: sortDesc(byFile, (file, selfMs) => ({ file, selfMs })),
    topSelf: sortDesc(selfByFn, (fn, selfMs) => ({ fn, selfMs })),
    topInclusive: sortDesc(incl, (fn, totalMs) => ({ fn, totalMs })),
  };
}

export async function profileWeft(n: number): Promise<ProfileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-prof-'));
  const res: ProfileResult = { n, api: {}, runtime: {}, byFile: [], topSelf: [], topInclusive: [], profiledMs: 0 };
  let d;
  try {
    d = await startDaemon('weft', { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], extraArgs: ['--log-level', 'debug'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { ...res, error: errMsg(err) };
  }
  const phases: Record<string, number[]> = { 'POST /containers/create': [], 'POST /containers/{id}/start': [], 'DELETE /containers/{id}?force': [], 'create + start (run -d)': [] };
  try {
    await api(d, 'POST', '/networks/create', { Name: 'pnet', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.95.0.0/24' }] } });
    for (let i = -2; i < n; i++) {
      let id = '';
      const tc = await timed(async () => (id = (await api(d, 'POST', '/containers/create', { Image: 'alpine', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'pnet' } })).Id));
      const ts = await timed(() => api(d, 'POST', `/containers/${id}/start`));
      const tr = await timed(() => api(d, 'DELETE', `/containers/${id}?force=1`));
      if (i < 0) continue; // warm-up
      phases['POST /containers/create']!.push(tc);
      phases['POST /containers/{id}/start']!.push(ts);
      phases['DELETE /containers/{id}?force']!.push(tr);
      phases['create + start (run -d)']!.push(tc + ts);
    }
    for (const [k, v] of Object.entries(phases)) res.api[k] = median(v);
    // ConmonRuntime.start timings from the debug log (the last n starts).
    const timings: Record<string, number[]> = {};
    const lines = readFileSync(d.logFile, 'utf8').split('\n').filter((l) => l.includes('"timings"'));
    for (const l of lines.slice(-n)) {
      try {
        const t = JSON.parse(l).timings as Record<string, number>;
        for (const [k, v] of Object.entries(t)) (timings[k] ??= []).push(v);
      } catch {
        /* not JSON */
      }
    }
    for (const [k, v] of Object.entries(timings)) res.runtime[k] = median(v);
  } catch (err) {
    res.error = errMsg(err);
  } finally {
    await d.stop().catch((err) => console.error(`[bench] profile: ${err instanceof Error ? err.message : err}`));
  }
  try {
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile written (did weftd exit cleanly on SIGTERM?)');
    const folded = foldProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    res.profiledMs = folded.busyMs;
    res.byFile = folded.byFile.slice(0, 15);
    res.topSelf = folded.topSelf.slice(0, 15);
    res.topInclusive = folded.topInclusive.slice(0, 20);
  } catch (err) {
    res.error = (res.error ? res.error + '; ' : '') + errMsg(err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

export function renderProfile(r: ProfileResult): string {
  const out: string[] = [];
  const start = r.api['POST /containers/{id}/start'];
  const rt = r.runtime.total;
  out.push(`${r.n} rounds of create + start + rm -f (alpine sleep 600 on a user bridge network), weftd under node --cpu-prof, --log-level debug.`);
  out.push('');
  out.push('| phase | median ms |');
  out.push('| --- | --- |');
  for (const [k, v] of Object.entries(r.api)) out.push(`| API ${k} | ${fmtMs(v)} |`);
  for (const [k, v] of Object.entries(r.runtime)) out.push(`| ConmonRuntime.start: ${k} | ${fmtMs(v)} |`);
  if (start !== undefined && rt !== undefined) out.push(`| start outside ConmonRuntime.start (network attach: IPAM, veth, netns config, DNS registration, store) | ${fmtMs(start - rt)} |`);
  out.push('');
  out.push(`CPU profile (whole daemon life, ${fmtMs(r.profiledMs)} ms on-CPU excluding idle). Self time by file:`);
  out.push('');
  out.push('| file | self ms |');
  out.push('| --- | --- |');
  for (const f of r.byFile) out.push(`| ${f.file} | ${fmtMs(f.selfMs)} |`);
  out.push('');
  out.push('Top weft functions by inclusive on-CPU time:');
  out.push('');
  out.push('| function | inclusive ms |');
  out.push('| --- | --- |');
  for (const f of r.topInclusive) out.push(`| \`${f.fn}\` | ${fmtMs(f.totalMs)} |`);
  out.push('');
  out.push('Top self time:');
  out.push('');
  out.push('| function | self ms |');
  out.push('| --- | --- |');
  for (const f of r.topSelf) out.push(`| \`${f.fn}\` | ${fmtMs(f.selfMs)} |`);
  if (r.error) out.push('', `- error: ${r.error}`);
  return out.join('\n') + '\n';
}
