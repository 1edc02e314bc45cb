import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { DOCKER_CLI, type Daemon } from './daemons.js';

// Clients that misbehave on purpose, and what a daemon holds: for the hardening and
// resource-bound tests. A daemon must survive every one of these and give back what it took.

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function until(pred: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** A docker CLI process against the daemon; `exited` settles with [code, signal]. */
export function dockerChild(d: Daemon, args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}): { child: ChildProcess; exited: Promise<[number | null, string | null]>; output: () => string } {
  const child = spawn(DOCKER_CLI, args, { env: d.env, stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])));
  return { child, exited, output: () => out };
}

/** Resolves with `value` or 'timeout' after `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

/** A raw connection to the daemon's socket: for requests no well-behaved client sends. */
export function rawConnect(d: Daemon): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(d.socket, () => resolve(s));
    s.on('error', reject);
  });
}

/** Request head (and body) for an upgrade to a raw stream, as the docker CLI sends it. */
export function upgradeRequest(method: string, path: string, body?: unknown): string {
  const text = body === undefined ? '' : JSON.stringify(body);
  const len = text ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` : '';
  return `${method} ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${len}\r\n${text}`;
}

/** Collects what a socket receives until it closes or `ms` pass. */
export function collect(s: Socket, ms: number): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      resolve({ data, closed });
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('data', (b: Buffer) => (data += b.toString('latin1')));
    s.on('close', () => done(true));
    s.on('error', () => undefined);
  });
}

export interface Held {
  /** Open file descriptors of the daemon process. */
  fds: number;
  /** Direct children of the daemon (weft-rtio helpers, runc exec, weft-dns...). */
  children: number;
  rssKb: number;
}

/** Command lines of the daemon's live children. */
export function childrenOf(pid: number): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Connections this test process keeps open to `socketPath` through Node's keep-alive agent (the
 * harness's api() and dockerode use it): the daemon holds one descriptor for each, legitimately.
 */
export function keptAlive(socketPath: string): number {
  let n = 0;
  for (const pool of [globalAgent.sockets, globalAgent.freeSockets]) {
    for (const [key, list] of Object.entries(pool)) if (key.includes(socketPath)) n += list?.length ?? 0;
  }
  return n;
}

/** What the daemon process holds right now (read from /proc); `socketPath` discounts our own keep-alive connections. */
export function held(pid: number, socketPath?: string): Held {
  const fds = readdirSync(`/proc/${pid}/fd`).length - (socketPath ? keptAlive(socketPath) : 0);
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, children: childrenOf(pid).length, rssKb: rss ? Number(rss[1]) : 0 };
}

/** The daemon's open descriptors by kind (socket, pipe, anon_inode:..., or the file path), for failure messages. */
export function fdKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '?';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, '');
    } catch {
      /* closed meanwhile */
    }
    out[target] = (out[target] ?? 0) + 1;
  }
  return out;
}

/** Lines of the daemon's log written by weftd's safety net (each a bug: an error no request handled). */
export function strayErrors(d: Daemon): string[] {
  let text = '';
  try {
    text = readFileSync(d.logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.includes('"safetyNet":'));
}
