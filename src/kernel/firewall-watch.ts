import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { systemError } from '../common/errors.js';
import { inNetns } from './exec.js';
import type { Kernel } from './types.js';

// Notices when something other than weft changes weft's nftables table (`nft flush ruleset`, a
// firewalld-style reload that deletes and re-creates tables, `nft delete table inet weft`, a
// flushed chain or set), so the daemon can put the table back at once. One long-lived child,
// weft-nftwatch (native/weft-nftwatch.c), subscribed to NFNLGRP_NFTABLES: nothing polls, and an
// idle table costs nothing. (`nft monitor` was the first choice; version 1.0.6 stops printing a
// set's element events once a batch has re-added that set, which weft's replays do.)
//
// Telling weft's own changes from foreign ones: the kernel ends every nftables transaction with a
// NEWGEN message naming the committing process. weft's batches run as `weft-nft`, a symlink to nft
// (see nftAlias): the kernel takes a process's name from the path it was executed by. A name also
// holds across pid namespaces, where the pid the kernel reports would not be the one Node saw.
//
// What counts: any foreign transaction with an event in the table, except rules of the admin's
// chain (weft-user): the admin adding or deleting their own rules is not a disruption.
//
// This is the interface the kernel agent can later serve from its own netlink socket.

export interface FirewallWatch {
  /** Starts watching (idempotent). */
  start(): void;
  /** Stops and ends the watching process. */
  stop(): void;
}

export interface FirewallWatchOptions {
  /** The weft-nftwatch binary. */
  helper: string;
  /** "inet weft" */
  table: string;
  /** The admin's chain in that table; changes to its rules are not reported. */
  userChain: string;
  /** Called once per foreign transaction that touched the table (with its events), and when events may have been missed (the watch was restarted, the kernel dropped some). */
  onForeignChange(events: string[]): void;
  log?: { warn(obj: object, msg?: string): void };
}

/** The process name weft's nft batches run under (at most 15 characters: the kernel's comm). */
export const WRITER_NAME = 'weft-nft';

/**
 * Makes <dir>/weft-nft, a symlink to the nft binary found on PATH, and returns its path (for
 * Kernel's `nft` option). Idempotent.
 */
export function nftAlias(dir: string, pathEnv = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string {
  const real = pathEnv
    .split(delimiter)
    .map((d) => join(d, 'nft'))
    .find((p) => existsSync(p));
  if (!real) throw systemError('nft not found on PATH');
  mkdirSync(dir, { recursive: true });
  const alias = join(dir, WRITER_NAME);
  let current: string | null = null;
  try {
    current = readlinkSync(alias);
  } catch {
    /* absent */
  }
  if (current !== real) {
    if (current !== null) unlinkSync(alias);
    symlinkSync(real, alias);
  }
  return alias;
}

export interface WatchTransaction {
  generation: number;
  pid: number;
  /** The committing process's name. */
  comm: string;
  /** Its events in the table that concern weft ("delrule forward", "deltable -"...). */
  events: string[];
}

export interface WatchOutput {
  transactions: WatchTransaction[];
  /** The kernel dropped events (whatever they were, the table must be checked). */
  lost: boolean;
  /** The subscription is in place. */
  ready: boolean;
}

/** Splits weft-nftwatch's output into transactions. Pure: fed text, returns what it completed. */
export class WatchParser {
  private partial = '';
  private pending: string[] = [];

  constructor(private readonly userChain: string) {}

  feed(text: string): WatchOutput {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    const out: WatchOutput = { transactions: [], lost: false, ready: false };
    for (const line of lines) {
      const w = line.split(' ');
      if (w[0] === 'ev' && w.length === 3) {
        const [, kind, name] = w;
        // The admin's own rules are theirs to change (and creating the chain is harmless).
        if (name === this.userChain && (kind === 'newrule' || kind === 'delrule' || kind === 'newchain')) continue;
        this.pending.push(`${kind} ${name}`);
      } else if (w[0] === 'gen' && w.length >= 4) {
        out.transactions.push({ generation: Number(w[1]), pid: Number(w[2]), comm: w.slice(3).join(' '), events: this.pending });
        this.pending = [];
      } else if (line === 'lost') {
        out.lost = true;
      } else if (line === 'ready') {
        out.ready = true;
      }
    }
    return out;
  }
}

const RESPAWN_MIN_MS = 200;
const RESPAWN_MAX_MS = 10_000;

/** The watch as one weft-nftwatch child in the kernel's namespace, restarted if it dies. */
export function watchNftTable(kernel: Kernel, opts: FirewallWatchOptions): FirewallWatch {
  if (kernel.nftWriter === 'nft') {
    // Plain nft would make an admin's `nft flush ruleset` look like weft's own: nothing would be restored.
    throw systemError(`firewall watch: weft's nft batches must run under a name of their own (the ${WRITER_NAME} alias), not nft`);
  }
  let child: ChildProcess | null = null;
  let stopped = true;
  let timer: NodeJS.Timeout | null = null;
  let delay = RESPAWN_MIN_MS;

  const launch = (restarted: boolean) => {
    timer = null;
    if (stopped) return;
    const parser = new WatchParser(opts.userChain);
    const [cmd, args] = inNetns(kernel.netns, opts.helper, opts.table.split(' '));
    const startedAt = Date.now();
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    c.stdout!.setEncoding('utf8').on('data', (text: string) => {
      const { transactions, lost, ready } = parser.feed(text);
      // Whatever happened while no watch ran went unseen: have it checked once this one listens.
      if (ready && restarted) opts.onForeignChange(['watch restarted']);
      for (const t of transactions) {
        if (t.events.length && t.comm !== kernel.nftWriter) opts.onForeignChange(t.events);
      }
      if (lost) opts.onForeignChange(['events lost']);
    });
    c.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-2000)));
    c.on('error', () => undefined); // 'close' follows
    c.on('close', (code, signal) => {
      if (child === c) child = null;
      if (stopped) return;
      delay = Date.now() - startedAt > 30_000 ? RESPAWN_MIN_MS : Math.min(delay * 2, RESPAWN_MAX_MS);
      opts.log?.warn({ code, signal, stderr: stderr.trim(), retryMs: delay }, 'firewall watch exited; restarting it');
      timer = setTimeout(() => launch(true), delay);
      timer.unref();
    });
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      launch(false);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      child?.kill('SIGKILL');
      child = null;
    },
  };
}
