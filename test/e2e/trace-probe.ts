import type { TraceResult } from '../../src/engine/trace/trace.js';
import type { Daemon } from '../helpers/daemons.js';

// Helpers of the trace tests: what `weft network trace` says about each of B's addresses, and
// what real packets say (a ping and an HTTP GET to port 80 from inside A; every container of
// these tests runs busybox httpd on 80).

export type TraceJson = TraceResult;

export async function traceOf(d: Daemon, from: string, to: string, port?: string): Promise<TraceJson> {
  const q = new URLSearchParams({ from, to, ...(port ? { port } : {}) });
  const r = await d.api('GET', `/weft/trace?${q}`);
  if (r.status !== 200) throw new Error(`trace ${from} ${to}: ${r.status} ${r.text}`);
  return r.json as TraceJson;
}

/** Per address of B: whether the trace's route and firewall steps for it both passed. */
export function verdictsByAddress(t: TraceJson): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const s of t.steps) {
    const m = /^(route|firewall) to (\S+) /.exec(s.step);
    if (!m) continue;
    out.set(m[2], (out.get(m[2]) ?? true) && s.ok);
  }
  // A route step that failed has no firewall step: its address stays false from the route.
  return out;
}

export interface Probe {
  kind: 'ping' | 'http';
  target: string; // address, or address:port for http
}

/** Runs every probe at once from inside `container`; returns "kind target" -> reached. */
export async function probeFrom(d: Daemon, container: string, probes: Probe[], slow = false): Promise<Map<string, boolean>> {
  const [pingArgs, wait] = slow ? ['-c 3 -W 2', 5] : ['-c 1 -W 1', 2];
  const lines = [
    `p() { if ping ${pingArgs} "$1" >/dev/null 2>&1; then echo "ping $1 1"; else echo "ping $1 0"; fi; }`,
    `h() { if timeout ${wait} wget -qO- "http://$1/" >/dev/null 2>&1; then echo "http $1 1"; else echo "http $1 0"; fi; }`,
    ...probes.map((p) => `${p.kind === 'ping' ? 'p' : 'h'} ${p.target} &`),
    'wait',
  ];
  const r = await d.docker(['exec', container, 'sh', '-c', lines.join('\n')], { timeoutMs: 60_000 });
  const out = new Map<string, boolean>();
  for (const line of r.stdout.split('\n')) {
    const [kind, target, ok] = line.trim().split(' ');
    if (kind && target) out.set(`${kind} ${target}`, ok === '1');
  }
  if (out.size < probes.length) throw new Error(`${container}: ${probes.length - out.size} probes gave no answer: ${r.stderr.slice(0, 300)}`);
  return out;
}
