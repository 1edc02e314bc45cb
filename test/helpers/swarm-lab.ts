import { readdirSync, readFileSync } from 'node:fs';
import { startDaemon, type Daemon } from './daemons.js';
import { createUnderlay, type TestHost, type Underlay } from './underlay.js';

// A multi-host lab for swarm tests: hosts on a test underlay (test/helpers/underlay.ts), each
// with its own weftd (and, once it is a manager, its own etcd member under its data root).
// stop() stops every daemon (each leaves the swarm first), deletes the namespaces, and fails
// if any etcd of the lab is still running.

export interface SwarmLab {
  ul: Underlay;
  hosts: TestHost[];
  daemons: Daemon[];
  stop(): Promise<void>;
}

export interface SwarmLabOptions {
  /** Extra weftd flags for a host. */
  args?: (host: TestHost) => string[];
  /** Runs once the hosts exist, before any weftd starts (e.g. an etcd of the test's own). */
  beforeDaemons?: (hosts: TestHost[]) => Promise<void>;
}

export async function startSwarmLab(count: number, opts: SwarmLabOptions = {}): Promise<SwarmLab> {
  const ul = createUnderlay(count);
  const daemons: Daemon[] = [];
  const stop = async () => {
    const errors: string[] = [];
    // Workers first, then managers, so that the last manager leaves last.
    const order = [...daemons].reverse();
    for (const d of order) await d.stop().catch((e: Error) => errors.push(e.message));
    try {
      ul.destroy();
    } catch (e) {
      errors.push(String(e));
    }
    const left = daemons.flatMap((d) => etcdPids(d));
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (left.length) errors.push(`etcd processes left: ${left.join(', ')}`);
    if (errors.length) throw new Error(`swarm lab teardown:\n- ${errors.join('\n- ')}`);
  };
  try {
    await opts.beforeDaemons?.(ul.hosts);
    for (const h of ul.hosts) daemons.push(await startDaemon('weft', { netns: h.netns, extraArgs: opts.args?.(h) ?? [] }));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { ul, hosts: ul.hosts, daemons, stop };
}

/** pids of the etcd processes that belong to this daemon (their data dir is under its data root). */
export function etcdPids(d: Daemon): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.startsWith('/usr/bin/etcd\0') && cmd.includes(d.dataRoot + '/')) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Recursive key sets of two JSON values that differ ("a.b: missing" / "a.c: extra"). */
export function keyDiff(actual: unknown, expected: unknown, path = ''): string[] {
  if (expected === null || typeof expected !== 'object' || actual === null || typeof actual !== 'object') {
    return (expected === null) !== (actual === null) || typeof expected !== typeof actual ? [`${path || '.'}: ${JSON.stringify(actual)?.slice(0, 40)} vs fixture ${JSON.stringify(expected)?.slice(0, 40)}`] : [];
  }
  if (Array.isArray(expected)) return Array.isArray(actual) ? (expected.length && actual.length ? keyDiff(actual[0], expected[0], `${path}[0]`) : []) : [`${path}: not an array`];
  const out: string[] = [];
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  for (const k of Object.keys(e)) out.push(...(k in a ? keyDiff(a[k], e[k], `${path}.${k}`) : [`${path}.${k}: missing`]));
  for (const k of Object.keys(a)) if (!(k in e)) out.push(`${path}.${k}: extra`);
  return out;
}
