import { readdirSync, readFileSync } from 'node:fs';
import type { Daemon, DaemonKind } from '../test/helpers/daemons.js';

// Small helpers shared by the benchmark sections.

export const ENGINE_KINDS: DaemonKind[] = ['weft', 'docker', 'podman'];
export const ENGINE_LABEL: Record<DaemonKind, string> = { weft: 'weft', docker: 'dockerd', podman: 'podman' };

export interface OpStats {
  op: string;
  n: number;
  samples: number[]; // ms
  median: number;
  p90: number;
  error?: string;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

export function stats(op: string, samples: number[], error?: string): OpStats {
  const s = [...samples].sort((a, b) => a - b);
  return { op, n: s.length, samples: samples.map((x) => Math.round(x * 1000) / 1000), median: quantile(s, 0.5), p90: quantile(s, 0.9), error };
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export const errMsg = (err: unknown) => String(err instanceof Error ? err.message : err).split('\n')[0]!;

export async function cli(d: Daemon, args: string[]): Promise<string> {
  const r = await d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export async function api(d: Daemon, method: string, path: string, body?: unknown): Promise<any> {
  const r = await d.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.trim()}`);
  return r.json;
}

/**
 * A pair of operations (make + undo), each timed on its own, plus their sum per round as
 * `<combined>`; one untimed warm-up round first.
 */
export async function pair(
  out: OpStats[],
  names: [string, string, string?],
  n: number,
  make: (i: number) => Promise<string>,
  undo: (handle: string) => Promise<void>,
): Promise<void> {
  const a: number[] = [];
  const b: number[] = [];
  let error: string | undefined;
  try {
    await undo(await make(-1));
    for (let i = 0; i < n; i++) {
      let handle = '';
      a.push(await timed(async () => void (handle = await make(i))));
      b.push(await timed(() => undo(handle)));
    }
  } catch (err) {
    error = errMsg(err);
  }
  out.push(stats(names[0], a, error), stats(names[1], b, error));
  if (names[2]) out.push(stats(names[2], a.slice(0, b.length).map((x, i) => x + b[i]!), error));
}

export async function repeat(out: OpStats[], name: string, n: number, fn: () => Promise<unknown>): Promise<void> {
  const s: number[] = [];
  try {
    await fn();
    for (let i = 0; i < n; i++) s.push(await timed(fn));
    out.push(stats(name, s));
  } catch (err) {
    out.push(stats(name, s, errMsg(err)));
  }
}

/** VmRSS of a process in MB (NaN when unknown). */
/**
 * VmRSS of the daemon plus its own helper processes that do daemon work (weft-dns, weft's UDP DNS
 * front end): counted against weft, since dockerd serves its DNS in-process.
 */
export function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const rss = (p: number | string) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  };
  try {
    let total = rss(pid);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid && DAEMON_HELPERS.has(comm)) total += rss(entry);
      } catch {
        /* exited meanwhile */
      }
    }
    return total || NaN;
  } catch {
    return NaN;
  }
}

const DAEMON_HELPERS = new Set(['weft-dns']);

/** The i-th benchmark subnet, 10.100.0.0/24 upwards (explicit, so no engine runs out of pools). */
export function benchSubnet(i: number): string {
  return `10.${100 + Math.floor(i / 256)}.${i % 256}.0/24`;
}

export const fmtMs = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '-' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** weft/other as "0.12x" (lower is better for costs), '-' when either is missing. */
export function ratio(weft: number | undefined, other: number | undefined): string {
  if (weft === undefined || other === undefined || !Number.isFinite(weft) || !Number.isFinite(other) || other <= 0) return '-';
  return `${(weft / other).toFixed(2)}x`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
