import { readFileSync } from 'node:fs';
import { startDaemon } from '../test/helpers/daemons.js';
import { fmtMs, median, timed } from './lib.js';

// Where `docker run -d` + `docker rm -f` go on weftd, step by step: weftd runs in a throwaway
// namespace with --log-level debug, which logs the named steps of every container start, exit
// and removal (src/common/timeline.ts) and every API request's time; the docker CLI runs N rounds
// on a user bridge network; the medians of each step are printed.
//   node dist/bench/profile-run.js [--n 20]

interface Line {
  msg?: string;
  steps?: Record<string, number>;
  timings?: Record<string, number>;
  url?: string;
  method?: string;
  ms?: number;
}

export async function profileRun(n: number): Promise<string> {
  const d = await startDaemon('weft', { extraArgs: ['--log-level', 'debug'] });
  const cli: Record<string, number[]> = { 'docker run -d': [], 'docker rm -f': [] };
  try {
    await d.dockerOk(['network', 'create', '--subnet', '10.96.0.0/24', 'pnet']);
    for (let i = -2; i < n; i++) {
      let id = '';
      const run = await timed(async () => (id = await d.dockerOk(['run', '-d', '--network', 'pnet', 'alpine', 'sleep', '600'])));
      const rm = await timed(() => d.dockerOk(['rm', '-f', id]));
      if (i < 0) continue; // warm-up
      cli['docker run -d']!.push(run);
      cli['docker rm -f']!.push(rm);
    }
    const lines = readFileSync(d.logFile, 'utf8').split('\n').flatMap((l): Line[] => {
      try {
        return l.startsWith('{') ? [JSON.parse(l) as Line] : [];
      } catch {
        return [];
      }
    });
    const groups = new Map<string, Map<string, number[]>>();
    const add = (group: string, key: string, v: number) => {
      const g = groups.get(group) ?? new Map<string, number[]>();
      groups.set(group, g);
      g.set(key, [...(g.get(key) ?? []), v]);
    };
    for (const [k, v] of Object.entries(cli)) for (const x of v) add('CLI (client to answer)', k, x);
    for (const l of lines) {
      if (l.msg === 'request' && l.url && l.ms !== undefined) add('API requests (in weftd)', `${l.method} ${l.url.replace(/[0-9a-f]{64}/g, '{id}').replace(/\?.*$/, '')}`, l.ms);
      const steps = l.steps ?? (l.msg === 'container started' ? l.timings : undefined);
      if (steps) for (const [k, v] of Object.entries(steps)) add(l.msg === 'container started' ? 'ConmonRuntime.start' : l.msg!, k, v);
    }
    const out = [`${n} rounds of \`docker run -d --network pnet alpine sleep 600\` + \`docker rm -f\` against weftd (--log-level debug), medians in ms.`, ''];
    for (const [group, g] of groups) {
      out.push(`| ${group} | n | median ms |`, '| --- | --- | --- |');
      for (const [k, v] of g) if (v.length >= n / 2) out.push(`| ${k} | ${v.length} | ${fmtMs(median(v.slice(-n)))} |`);
      out.push('');
    }
    return out.join('\n');
  } finally {
    await d.stop();
  }
}

const n = Number(process.argv[process.argv.indexOf('--n') + 1]) || 20;
console.log(await profileRun(n));
