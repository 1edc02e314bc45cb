import { spawn, type ChildProcess } from 'node:child_process';
import { systemError } from '../common/errors.js';
import { helperPath } from '../common/native.js';
import { describe } from './render.js';
import type { Step } from './types.js';
import { decodeResponse, encodeRequest, isQuery, type WireResponse, type WireStep } from './wire.js';

// The weft-kernel process (src/kernel/agent/): started at the first request, its requests and
// answers framed on its stdin/stdout. If it dies, what it was doing is settled cleanly: a plan
// that changes the kernel fails (the caller undoes its part, the next reconcile repairs the rest;
// it is never replayed blindly), a read-only request is asked again of the next agent. It is
// restarted with backoff (at once, then 200 ms, 400 ms...); after 5 quick deaths in a row requests
// fail at once for 10 s. A request unanswered for 30 s kills it (a stuck kernel call must not
// hold weftd forever).

export interface AgentLog {
  warn(obj: object, msg: string): void;
}

export interface AgentOptions {
  /** Namespace the agent works in (tests); absent: weftd's own. */
  netns?: string;
  log?: AgentLog;
  /** Path of the binary (default: helperPath('weft-kernel'), built on first use). */
  binary?: string;
}

interface Pending {
  id: number;
  frame: Buffer;
  readOnly: boolean;
  retried: boolean;
  what: string;
  timer: NodeJS.Timeout;
  resolve: (r: WireResponse) => void;
  reject: (e: Error) => void;
}

interface Proc {
  child: ChildProcess;
  startedAt: number;
  inbox: Buffer;
}

const QUICK_EXIT_MS = 10_000;
const MAX_QUICK_EXITS = 5;
const GIVE_UP_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class AgentProcess {
  private proc: Proc | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private quickExits = 0;
  private nextStartAt = 0;
  private giveUpUntil = 0;
  private lastDeath = '';
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** How many agent processes were started (restarts show as > 1). */
  starts = 0;

  constructor(private readonly opts: AgentOptions = {}) {}

  /** The running agent's pid, if any. */
  pid(): number | undefined {
    return this.proc?.child.pid;
  }

  request(steps: WireStep[], flags: number, readOnly: boolean): Promise<WireResponse> {
    if (this.stopped) return Promise.reject(systemError('kernel agent stopped'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffff0 ? 1 : this.nextId + 1;
    const frame = encodeRequest(id, steps, flags);
    const what = whatOf(steps);
    return new Promise<WireResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.hung(id), REQUEST_TIMEOUT_MS);
      timer.unref();
      const p: Pending = { id, frame, readOnly, retried: false, what, timer, resolve, reject };
      this.pending.set(id, p);
      if (this.proc) this.write(this.proc, [frame]);
      else this.ensure();
    });
  }

  /** Stops the agent and fails what is pending. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.failAll(systemError('kernel agent stopped'));
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.child.once('close', () => resolve());
      proc.child.kill('SIGKILL');
    });
  }

  private ensure(): void {
    if (this.proc || this.stopped || this.restartTimer) return;
    if (Date.now() < this.giveUpUntil) {
      this.failAll(systemError(`kernel agent keeps dying (${this.lastDeath}); not restarted for a few seconds`));
      return;
    }
    const wait = this.nextStartAt - Date.now();
    if (wait > 0) {
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.pending.size) this.start();
      }, wait);
      return;
    }
    this.start();
  }

  private start(): void {
    let binary: string;
    try {
      binary = this.opts.binary ?? helperPath('weft-kernel');
    } catch (err) {
      this.failAll(err as Error);
      return;
    }
    const child = spawn(binary, this.opts.netns ? ['--netns', this.opts.netns] : [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc: Proc = { child, startedAt: Date.now(), inbox: Buffer.alloc(0) };
    this.proc = proc;
    this.starts++;
    child.stdout!.on('data', (chunk: Buffer) => this.onData(proc, chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.opts.log?.warn({ text: text.trim() }, 'weft-kernel'));
    child.stdin!.on('error', () => undefined); // its death is handled below
    child.on('error', (err) => this.onGone(proc, `failed to start: ${err.message}`));
    // 'close', not 'exit': answers it wrote before dying are read first.
    child.on('close', (code, signal) => this.onGone(proc, signal ? `was killed (${signal})` : `exited (code ${code})`));
    this.write(proc, [...this.pending.values()].map((p) => p.frame));
  }

  private write(proc: Proc, frames: Buffer[]): void {
    if (!frames.length || !proc.child.stdin?.writable) return;
    proc.child.stdin.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private onGone(proc: Proc, why: string): void {
    if (this.proc !== proc) return;
    this.proc = null;
    this.lastDeath = why;
    if (this.stopped) return;
    this.quickExits = Date.now() - proc.startedAt < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
    for (const p of [...this.pending.values()]) {
      if (p.readOnly && !p.retried) {
        p.retried = true; // asked again of the next agent
        continue;
      }
      this.settle(p).reject(systemError(`kernel agent ${why} during ${p.what}; the operation did not complete`));
    }
    if (this.quickExits >= MAX_QUICK_EXITS) {
      this.quickExits = 0;
      this.giveUpUntil = Date.now() + GIVE_UP_MS;
      this.opts.log?.warn({ why }, 'weft-kernel keeps dying; kernel operations fail for 10 s');
      this.failAll(systemError(`kernel agent keeps dying (${why})`));
      return;
    }
    const delay = this.quickExits === 0 ? 0 : 100 * 2 ** this.quickExits;
    this.nextStartAt = Date.now() + delay;
    this.opts.log?.warn({ why, retryMs: delay }, 'weft-kernel is gone; restarting it');
    if (this.pending.size) this.ensure();
  }

  /** No answer in time: the agent is stuck in the kernel or lost; kill it (onGone settles the rest). */
  private hung(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.opts.log?.warn({ what: p.what }, 'weft-kernel did not answer in 30 s; killing it');
    p.retried = true;
    const proc = this.proc;
    if (proc) proc.child.kill('SIGKILL');
    else this.settle(p).reject(systemError(`kernel agent did not answer during ${p.what}`));
  }

  private settle(p: Pending): Pending {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    return p;
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending.values()]) this.settle(p).reject(err);
  }

  private onData(proc: Proc, chunk: Buffer): void {
    const buf = proc.inbox.length ? Buffer.concat([proc.inbox, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const body = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      let res: WireResponse;
      try {
        res = decodeResponse(body);
      } catch {
        this.opts.log?.warn({ len }, 'weft-kernel sent an unreadable answer');
        continue;
      }
      const p = this.pending.get(res.id);
      if (p) this.settle(p).resolve(res);
    }
    proc.inbox = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }
}

/** A request named for error messages: its first step and how many follow. */
function whatOf(steps: WireStep[]): string {
  const first = steps[0];
  if (!first) return 'an empty plan';
  const what = isQuery(first) ? first.op : describe(first as Step);
  return steps.length > 1 ? `"${what}" (+${steps.length - 1} steps)` : `"${what}"`;
}
