import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { dockerdAvailable, startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';

// Differential conformance: every case runs against weftd and a real Debian dockerd (20.10,
// API 1.41) started side by side, and the two answers are compared after normalising what is
// volatile by nature (ids, timestamps, the bridge's interface name, data-root paths). Any other
// difference fails the case and prints both answers.
//
// A case may declare a KNOWN difference (an intended deviation: dockerd 20.10 bug fixed in later
// dockers, or a limit of weft reported as such). It then asserts weft's answer alone and prints
// dockerd's as a diagnostic, so the list of deviations stays visible in the test output.

export interface Pair {
  weft: Daemon;
  /** null when dockerd is not installed: cases then only check weft against their expectation. */
  docker: Daemon | null;
}

export function conformanceSkip(): string | false {
  if (!weftdBuilt()) return 'weftd is not built (dist/src/daemon/main.js missing)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return false;
}

/** Starts one weftd and one dockerd (when available) in parallel. */
export async function startPair(): Promise<Pair> {
  const wantDocker = dockerdAvailable() && process.env.WEFT_CONFORMANCE_NO_DOCKER !== '1';
  const [w, d] = await Promise.allSettled([startDaemon('weft'), wantDocker ? startDaemon('docker') : Promise.resolve(null)]);
  if (w.status === 'rejected' || d.status === 'rejected') {
    if (w.status === 'fulfilled') await w.value.stop().catch(() => undefined);
    if (d.status === 'fulfilled') await d.value?.stop().catch(() => undefined);
    throw w.status === 'rejected' ? w.reason : (d as PromiseRejectedResult).reason;
  }
  return { weft: w.value, docker: d.value };
}

export async function stopPair(p: Pair | undefined): Promise<void> {
  if (!p) return;
  const results = await Promise.allSettled([p.weft.stop(), p.docker?.stop()]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new Error(failed.map((f) => String(f.reason?.message ?? f.reason)).join('\n'));
}

const RFC3339NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Replaces what legitimately differs between two daemons: 64-hex ids, their 12-hex short forms,
 * RFC 3339 timestamps (format checked first), sha256 image ids, private paths, the default
 * bridge's interface name, container pids.
 */
export function normalize(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[normalizeText(k)] = normalize(v, k);
    return defaultBridgeGateway(out);
  }
  if (typeof value === 'string') {
    if ((key === 'Created' || key.endsWith('At')) && RFC3339NANO.test(value) && !value.startsWith('0001-')) return '<time>';
    if (key === 'com.docker.network.bridge.name' && (value === 'docker0' || value === 'weft0')) return '<default-bridge>';
    return normalizeText(value);
  }
  if (typeof value === 'number' && (key === 'Pid' || key === 'Created')) return '<num>';
  return value;
}

/**
 * Known difference, tolerated everywhere: weft shows the default bridge's gateway in
 * IPAM.Config (as dockerd >= 23 and the seed article do); dockerd 20.10 omits it.
 */
function defaultBridgeGateway(o: Record<string, any>): Record<string, unknown> {
  if (o.Options?.['com.docker.network.bridge.default_bridge'] === 'true' && Array.isArray(o.IPAM?.Config)) {
    o.IPAM = { ...o.IPAM, Config: o.IPAM.Config.map(({ Gateway: _g, ...rest }: Record<string, unknown>) => rest) };
  }
  return o;
}

export function normalizeText(s: string): string {
  return s
    .replace(/sha256:[0-9a-f]{64}/g, '<image>')
    .replace(/[0-9a-f]{64}/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<short>')
    .replace(/\/(tmp|run)\/wt-[0-9a-f]{8}\/[^\s"]*/g, '<path>')
    .replace(/\b(docker0|weft0)\b/g, '<default-bridge>')
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})? \+0000 UTC/g, '<time>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})/g, '<time>');
}

/** Sorts arrays of objects by Name (network and container lists come in map order on dockerd). */
export function byName<T>(list: T): T {
  if (!Array.isArray(list)) return list;
  return [...list].sort((a, b) => String(a?.Name ?? a?.name ?? JSON.stringify(a)).localeCompare(String(b?.Name ?? b?.name ?? JSON.stringify(b)))) as T;
}

/** One line per path where two JSON values differ (keys, types, values). */
export function jsonDiff(w: unknown, d: unknown, path = '$'): string[] {
  if (isDeepStrictEqual(w, d)) return [];
  const tw = Array.isArray(w) ? 'array' : w === null ? 'null' : typeof w;
  const td = Array.isArray(d) ? 'array' : d === null ? 'null' : typeof d;
  if (tw !== td || (tw !== 'object' && tw !== 'array')) return [`${path}: weft ${JSON.stringify(w)}, dockerd ${JSON.stringify(d)}`];
  if (tw === 'array') {
    const a = w as unknown[];
    const b = d as unknown[];
    if (a.length !== b.length) return [`${path}: weft has ${a.length} elements, dockerd ${b.length}: weft ${JSON.stringify(a)}, dockerd ${JSON.stringify(b)}`];
    return a.flatMap((x, i) => jsonDiff(x, b[i], `${path}[${i}]`));
  }
  const a = w as Record<string, unknown>;
  const b = d as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!(k in a)) out.push(`${path}.${k}: missing on weft (dockerd ${JSON.stringify(b[k])})`);
    else if (!(k in b)) out.push(`${path}.${k}: extra on weft (${JSON.stringify(a[k])}), dockerd has no such key`);
    else out.push(...jsonDiff(a[k], b[k], `${path}.${k}`));
  }
  return out;
}

export interface CaseOptions {
  /** Applied to both normalised answers before comparing, for a documented tolerance (reason logged). */
  tolerate?: { reason: string; fn: (v: any) => unknown };
  /** An intended or reported deviation from dockerd 20.10: weft's answer must equal `weft`. */
  known?: { reason: string; weft: unknown };
}

/**
 * Runs `fn` on both daemons at once and compares the normalised answers. Returns both answers.
 * `log` receives a diagnostic line (t.diagnostic).
 */
export async function same<T>(pair: Pair, fn: (d: Daemon) => Promise<T>, opts: CaseOptions = {}, log: (s: string) => void = () => {}): Promise<{ weft: T; docker: T | null }> {
  const [w, d] = await Promise.all([fn(pair.weft), pair.docker ? fn(pair.docker) : Promise.resolve(null)]);
  let nw = normalize(w);
  let nd = d === null ? null : normalize(d);
  if (opts.tolerate) {
    log(`tolerated: ${opts.tolerate.reason}`);
    nw = opts.tolerate.fn(nw);
    nd = nd === null ? null : opts.tolerate.fn(nd);
  }
  if (opts.known) {
    log(`known difference: ${opts.known.reason}\n  weft:    ${JSON.stringify(nw)}\n  dockerd: ${JSON.stringify(nd)}`);
    assert.deepStrictEqual(nw, normalize(opts.known.weft), `weft's answer changed from the recorded deviation (${opts.known.reason})`);
    return { weft: w, docker: d };
  }
  if (nd !== null) {
    const diff = jsonDiff(nw, nd);
    assert.ok(diff.length === 0, `weft differs from dockerd (${diff.length}):\n  ${diff.join('\n  ')}\n--- weft:\n${JSON.stringify(nw, null, 1)}\n--- dockerd:\n${JSON.stringify(nd, null, 1)}`);
  }
  return { weft: w, docker: d };
}

/** An API answer reduced to what clients see: status and body (message for errors). */
export async function call(d: Daemon, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const r = await d.api(method, path, body);
  return { status: r.status, body: r.json ?? (r.text.trim() || null) };
}

/** The CLI's visible result. */
export async function cli(d: Daemon, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await d.docker(args);
  return { code: r.code, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

export const q = (filters: Record<string, string[]>): string => encodeURIComponent(JSON.stringify(Object.fromEntries(Object.entries(filters).map(([k, vs]) => [k, Object.fromEntries(vs.map((v) => [v, true]))]))));
