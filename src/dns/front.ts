import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { formatIp, parseIp } from '../ipam/cidr.js';
import { helperPath } from '../common/native.js';
import type { DnsLogger } from './server.js';

// The client side of weft-dns (src/dns/native/weft-dns.c, protocol in its header): the C process
// owns the embedded DNS's UDP sockets, answers repeated queries from its cache with
// recvmmsg/sendmmsg, and hands every other datagram here. Node stays the only authority: it says
// which replies may be cached, and flushes the cache whenever what an answer depends on changes.
// Measured here (dnsperf -c 4, 2 vCPUs shared with dnsperf): Node's dgram alone ~100k qps, a C
// loop ~240k. The process is spawned at the first listener and respawned if it dies.

const T = { LISTEN: 1, CLOSE: 2, REPLY: 3, FLUSH: 4, STATS: 5, QUERY: 11, BOUND: 12, CLOSED: 13, STATS_R: 15 } as const;
const ADDR_LEN = 19;
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** A client as weft-dns reports it: family · 16 address bytes · port (returned as is in replies). */
export type ClientAddr = Buffer;

/** A cached reply's round-robin: `count` records of `size` bytes from `offset` rotate per hit. */
export interface Rotation {
  offset: number;
  count: number;
  size: number;
}

export interface FrontStats {
  hits: number;
  misses: number;
  dropped: number;
}

export type QueryHandler = (listenerId: number, client: ClientAddr, query: Buffer) => void;

/** One weft-dns process and what only it knows. */
interface Proc {
  child: ChildProcess;
  startedAt: number;
  /** Bytes of an unfinished frame from this process. */
  inbox: Buffer;
  /** Its counters at the last stats() answer (carried over when it dies). */
  seen: FrontStats;
}

const OUTBOX_LIMIT = 16 << 20; // replies beyond this much unwritten are dropped (the client retries)
const QUICK_EXIT_MS = 10_000;
const MAX_QUICK_EXITS = 5;

export class UdpFront {
  private proc: Proc | null = null;
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private readonly bound = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly closing = new Map<number, () => void>();
  /** stats() callers; null: the process went away (they answer with `carried`). */
  private readonly statsWaiters = new Map<number, (s: FrontStats | null) => void>();
  /** Listeners that should exist (bound again after a respawn). */
  private readonly wanted = new Map<number, { address: string; port: number }>();
  private nextToken = 1;
  private stopped = false;
  private quickExits = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  /** Counters of processes that exited (hits after their last stats() answer are not known). */
  private carried: FrontStats = { hits: 0, misses: 0, dropped: 0 };

  constructor(
    private readonly onQuery: QueryHandler,
    private readonly log: DnsLogger,
    /** A listener that could not be bound again after a respawn (the server re-opens it). */
    private readonly onLost: (listenerId: number) => void = () => undefined,
  ) {}

  /** Binds UDP `address`:port as listener `id`; rejects with the errno code (EADDRNOTAVAIL, …). */
  listen(id: number, address: string, port: number): Promise<void> {
    this.wanted.set(id, { address, port });
    this.quickExits = 0; // a new request gets a new chance after a run of failures
    return this.sendListen(id, address, port);
  }

  /** Closes listener `id` (and drops the cache); resolves once its port is free. */
  close(id: number): Promise<void> {
    this.wanted.delete(id);
    this.bound.get(id)?.reject(cancelled('dns listener closed'));
    this.bound.delete(id);
    if (!this.proc) return Promise.resolve();
    return new Promise((resolve) => {
      this.closing.get(id)?.();
      this.closing.set(id, resolve);
      this.send(T.CLOSE, u32(id));
    });
  }

  /** Sends `reply` to the client that sent `query`; with `cache`, later identical queries get it from weft-dns. */
  reply(id: number, client: ClientAddr, query: Buffer, reply: Buffer, cache: Rotation | null): void {
    const stdin = this.proc?.child.stdin;
    if (!stdin || stdin.writableLength > OUTBOX_LIMIT) return;
    const head = Buffer.allocUnsafe(4 + ADDR_LEN + 9);
    head.writeUInt32BE(id, 0);
    client.copy(head, 4, 0, ADDR_LEN);
    let o = 4 + ADDR_LEN;
    head[o++] = cache ? 1 : 0;
    head.writeUInt16BE(cache?.offset ?? 0, o);
    head.writeUInt16BE(cache?.count ?? 0, o + 2);
    head.writeUInt16BE(cache?.size ?? 0, o + 4);
    head.writeUInt16BE(query.length, o + 6);
    this.send(T.REPLY, head, query, reply);
  }

  /** Forgets every cached reply (what answers depend on changed). */
  flush(): void {
    if (this.proc) this.send(T.FLUSH);
  }

  async stats(): Promise<FrontStats> {
    const proc = this.proc;
    if (!proc) return { ...this.carried };
    const token = this.nextToken++;
    const live = await new Promise<FrontStats | null>((resolve) => {
      this.statsWaiters.set(token, resolve);
      this.send(T.STATS, u32(token));
    });
    if (!live || this.proc !== proc) return { ...this.carried }; // it died meanwhile: what it had said is carried
    proc.seen = live;
    return { hits: this.carried.hits + live.hits, misses: this.carried.misses + live.misses, dropped: this.carried.dropped + live.dropped };
  }

  /** Ends the process (its sockets close with it). */
  stop(): void {
    this.stopped = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    this.wanted.clear();
    this.settleAll(cancelled('dns front end stopped'));
    this.proc?.child.kill('SIGKILL');
    this.proc = null;
  }

  private sendListen(id: number, address: string, port: number): Promise<void> {
    this.ensureProc();
    this.bound.get(id)?.reject(cancelled('dns listener replaced'));
    return new Promise((resolve, reject) => {
      this.bound.set(id, { resolve, reject });
      if (!this.proc) return; // respawn pending: the LISTEN is sent by respawn()
      const body = Buffer.alloc(4 + ADDR_LEN);
      body.writeUInt32BE(id, 0);
      encodeAddr(address, port).copy(body, 4);
      this.send(T.LISTEN, body);
    });
  }

  private ensureProc(): void {
    if (this.proc || this.stopped || this.respawnTimer) return;
    const child = spawn(helperPath('weft-dns'), [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc: Proc = { child, startedAt: Date.now(), inbox: Buffer.alloc(0), seen: { hits: 0, misses: 0, dropped: 0 } };
    this.proc = proc;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.proc === proc) this.onData(proc, chunk); // a dead process's last bytes are not the new one's
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.log.warn({ text: text.trim() }, 'weft-dns'));
    child.stdin!.on('error', () => undefined); // its exit is handled below
    // A failed spawn (ENOENT, EACCES, EAGAIN) emits 'error' and no 'exit'.
    child.on('error', (err) => this.onGone(proc, `failed: ${err.message}`));
    child.on('exit', (code, signal) => this.onGone(proc, `exited (code ${code}, signal ${signal})`));
  }

  private onGone(proc: Proc, why: string): void {
    if (this.proc !== proc) return;
    this.proc = null;
    this.outbox = [];
    this.carried = { hits: this.carried.hits + proc.seen.hits, misses: this.carried.misses + proc.seen.misses, dropped: this.carried.dropped + proc.seen.dropped };
    this.releaseWaiters();
    if (this.stopped) return;
    this.quickExits = Date.now() - proc.startedAt < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
    if (this.quickExits >= MAX_QUICK_EXITS) {
      // Respawning something that dies at once would only spin: give up until the next listen().
      this.log.warn({ why }, 'weft-dns keeps failing; UDP DNS is down until the next network change');
      const err = Object.assign(new Error(`weft-dns ${why}`), { code: 'EIO' });
      for (const id of this.wanted.keys()) this.onLost(id);
      this.wanted.clear();
      this.settleAll(err);
      return;
    }
    const delay = this.quickExits === 0 ? 0 : 100 * 2 ** this.quickExits;
    this.log.warn({ why, retryMs: delay }, 'weft-dns is gone; restarting it');
    this.respawnTimer = setTimeout(() => this.respawn(), delay);
  }

  /** A new process binds every wanted listener; a listen() still waiting gets its answer. */
  private respawn(): void {
    this.respawnTimer = null;
    const waiting = new Map(this.bound);
    this.bound.clear();
    for (const [id, { address, port }] of this.wanted) {
      const p = this.sendListen(id, address, port);
      const waiter = waiting.get(id);
      if (waiter) p.then(waiter.resolve, waiter.reject);
      else
        p.catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === 'ECANCELED') return;
          this.log.warn({ address, err: String(err) }, 'dns listener could not be bound again');
          this.onLost(id);
        });
    }
    for (const [id, w] of waiting) if (!this.wanted.has(id)) w.reject(cancelled('dns listener closed'));
  }

  private settleAll(err: Error): void {
    for (const w of this.bound.values()) w.reject(err);
    this.bound.clear();
    this.releaseWaiters();
  }

  /** The process is gone: its sockets closed with it, and stats() callers answer with `carried`. */
  private releaseWaiters(): void {
    for (const done of this.closing.values()) done();
    this.closing.clear();
    for (const w of this.statsWaiters.values()) w(null);
    this.statsWaiters.clear();
  }

  private send(type: number, ...parts: Buffer[]): void {
    let len = 1;
    for (const p of parts) len += p.length;
    const head = Buffer.allocUnsafe(5);
    head.writeUInt32BE(len, 0);
    head[4] = type;
    this.outbox.push(head, ...parts);
    // One write per turn of the event loop: the replies to a whole batch of queries go together,
    // and in the order they were made (a FLUSH is never overtaken by a reply made before it).
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.writeOut());
    }
  }

  private writeOut(): void {
    this.flushScheduled = false;
    const parts = this.outbox;
    this.outbox = [];
    const stdin = this.proc?.child.stdin;
    if (stdin?.writable && parts.length) stdin.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  private onData(proc: Proc, chunk: Buffer): void {
    const buf = proc.inbox.length ? Buffer.concat([proc.inbox, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 5) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const type = buf[off + 4];
      const body = buf.subarray(off + 5, off + 4 + len);
      off += 4 + len;
      this.onMessage(type, body);
    }
    proc.inbox = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }

  private onMessage(type: number, body: Buffer): void {
    switch (type) {
      case T.QUERY:
        // Views into the read chunk: the handler copies what it keeps beyond this turn.
        this.onQuery(body.readUInt32BE(0), body.subarray(4, 4 + ADDR_LEN), body.subarray(4 + ADDR_LEN));
        return;
      case T.BOUND: {
        const id = body.readUInt32BE(0);
        const errno = body.readInt32BE(4);
        const w = this.bound.get(id);
        this.bound.delete(id);
        if (!w) return;
        if (errno === 0) w.resolve();
        else {
          this.wanted.delete(id); // nothing to bind again after a respawn
          const code = ERRNO_NAMES.get(-errno) ?? ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
          w.reject(Object.assign(new Error(`dns bind: ${code}`), { code }));
        }
        return;
      }
      case T.CLOSED: {
        const id = body.readUInt32BE(0);
        this.closing.get(id)?.();
        this.closing.delete(id);
        return;
      }
      case T.STATS_R: {
        const token = body.readUInt32BE(0);
        const w = this.statsWaiters.get(token);
        this.statsWaiters.delete(token);
        w?.({ hits: Number(body.readBigUInt64BE(4)), misses: Number(body.readBigUInt64BE(12)), dropped: Number(body.readBigUInt64BE(20)) });
        return;
      }
    }
  }
}

function cancelled(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ECANCELED' });
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** ADDR for a literal address: family · 16 bytes · port. */
export function encodeAddr(address: string, port: number): Buffer {
  const ip = parseIp(address.split('%')[0]);
  if (!ip) throw new Error(`not an IP address: ${address}`);
  const out = Buffer.alloc(ADDR_LEN);
  out[0] = ip.family;
  if (ip.family === 4) out.writeUInt32BE(Number(ip.value), 1);
  else {
    out.writeBigUInt64BE(ip.value >> 64n, 1);
    out.writeBigUInt64BE(ip.value & 0xffffffffffffffffn, 9);
  }
  out.writeUInt16BE(port, 17);
  return out;
}

/** The client's address as the registry writes addresses (dotted quad; RFC 5952 for IPv6). */
export function clientAddress(client: ClientAddr): string {
  if (client[0] === 4) return `${client[1]}.${client[2]}.${client[3]}.${client[4]}`;
  return formatIp(6, (client.readBigUInt64BE(1) << 64n) | client.readBigUInt64BE(9));
}
