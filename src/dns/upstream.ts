import dgram from 'node:dgram';
import net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { latin1, questionEnd, tcpFrame } from './wire.js';

// Forwarding of the queries not answered locally. Servers are tried in order; a server that
// times out is remembered as down for `downMs` (the next ones are tried first meanwhile), so a
// dead resolver costs one timeout, not one per query. Identical queries in flight share one
// upstream exchange. Every query is independent: an AAAA never waits behind an A.

export interface UpstreamOptions {
  /** "1.1.1.1", "1.1.1.1:5353", "2001:db8::1", "[2001:db8::1]:5353". Read on every query. */
  servers: () => string[];
  timeoutMs?: number;
  downMs?: number;
  /** Upstream exchanges in flight at most; beyond it queries fail at once (SERVFAIL). */
  maxPending?: number;
  /** Servers tried per query at most (Docker: 3). */
  maxTries?: number;
}

interface Server {
  host: string;
  port: number;
  v6: boolean;
  key: string;
}

interface Pending {
  server: Server;
  query: Buffer;
  resolve: (reply: Buffer | null) => void;
  timer: NodeJS.Timeout;
}

const UDP_SOCKETS = 4; // per family; a random one per query (plus a random id) for spoofing resistance

export function parseServer(s: string): Server | null {
  let host = s.trim();
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (!net.isIPv6(host)) {
    const m = /^([^:]+):(\d+)$/.exec(host);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  if (!net.isIP(host) || !(port > 0 && port < 65536)) return null;
  return { host, port, v6: net.isIPv6(host), key: `${host}#${port}` };
}

export class Upstream {
  private readonly timeoutMs: number;
  private readonly downMs: number;
  private readonly maxPending: number;
  private readonly maxTries: number;
  private readonly downUntil = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly inflight = new Map<string, Promise<Buffer | null>>();
  private readonly sockets: { 4: dgram.Socket[]; 6: dgram.Socket[] } = { 4: [], 6: [] };
  private readonly tcpConns = new Set<net.Socket>();
  private ids = new Uint16Array(0);
  private idPos = 0;
  private closed = false;
  readonly counters = { queries: 0, coalesced: 0, udp: 0, tcp: 0, timeouts: 0, failures: 0, overload: 0, truncatedRetries: 0 };

  constructor(private readonly opts: UpstreamOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.downMs = opts.downMs ?? 30_000;
    this.maxPending = opts.maxPending ?? 1024;
    this.maxTries = opts.maxTries ?? 3;
  }

  /**
   * Resolves `query` (a complete DNS message) upstream; the reply carries the query's id. Null
   * when no server answered (the caller replies SERVFAIL). Shared replies: copy before editing.
   */
  query(query: Buffer, tcp = false, servers?: string[]): Promise<Buffer | null> {
    this.counters.queries++;
    const key = (tcp ? 'T' : 'U') + (servers ? servers.join(',') : '') + '|' + latin1(query, 2, query.length);
    const same = this.inflight.get(key);
    const id = (query[0] << 8) | query[1];
    if (same) {
      this.counters.coalesced++;
      return same.then((r) => (r ? withId(r, id) : r));
    }
    if (this.inflight.size >= this.maxPending) {
      this.counters.overload++;
      return Promise.resolve(null);
    }
    const p = this.resolve(query, tcp, servers).then((r) => (r ? withId(r, id) : r));
    this.inflight.set(key, p);
    void p.finally(() => this.inflight.delete(key));
    return p;
  }

  /** Servers in the order to try now: those not marked down first, in configured order. */
  serverOrder(list: string[] = this.opts.servers()): Server[] {
    const now = Date.now();
    const up: Server[] = [];
    const down: { s: Server; until: number }[] = [];
    for (const text of list) {
      const s = parseServer(text);
      if (!s) continue;
      const until = this.downUntil.get(s.key);
      if (until !== undefined && until > now) down.push({ s, until });
      else up.push(s);
    }
    // All down: the one that comes back soonest first.
    down.sort((a, b) => a.until - b.until);
    return [...up, ...down.map((d) => d.s)];
  }

  private async resolve(query: Buffer, tcp: boolean, list?: string[]): Promise<Buffer | null> {
    const servers = this.serverOrder(list).slice(0, this.maxTries);
    let last: Buffer | null = null;
    for (const s of servers) {
      if (this.closed) return null;
      let reply = tcp ? await this.viaTcp(s, query) : await this.viaUdp(s, query);
      if (reply && !tcp && reply[2] & 0x02) {
        // Truncated: the same server over TCP.
        this.counters.truncatedRetries++;
        reply = (await this.viaTcp(s, query)) ?? reply;
      }
      if (!reply) {
        this.downUntil.set(s.key, Date.now() + this.downMs);
        continue;
      }
      this.downUntil.delete(s.key);
      const rcode = reply[3] & 0xf;
      // SERVFAIL / REFUSED: ask the next server, as Docker does; keep the reply if none does better.
      if (rcode === 2 || rcode === 5) {
        last = reply;
        continue;
      }
      return reply;
    }
    if (!last) this.counters.failures++;
    return last;
  }

  private nextId(): number {
    if (this.idPos >= this.ids.length) {
      this.ids = randomFillSync(new Uint16Array(4096));
      this.idPos = 0;
    }
    return this.ids[this.idPos++];
  }

  private socket(v6: boolean): dgram.Socket {
    const list = this.sockets[v6 ? 6 : 4];
    if (list.length < UDP_SOCKETS) {
      const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      sock.on('message', (msg, rinfo) => this.onReply(msg, rinfo));
      sock.on('error', () => {
        /* per-send errors surface as timeouts */
      });
      sock.bind(0);
      sock.unref();
      list.push(sock);
      return sock;
    }
    return list[this.nextId() % list.length];
  }

  private viaUdp(s: Server, query: Buffer): Promise<Buffer | null> {
    this.counters.udp++;
    return new Promise((resolve) => {
      let id = this.nextId();
      for (let i = 0; this.pending.has(id) && i < 16; i++) id = this.nextId();
      if (this.pending.has(id)) return resolve(null);
      const out = Buffer.from(query);
      out[0] = id >> 8;
      out[1] = id & 0xff;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.counters.timeouts++;
        resolve(null);
      }, this.timeoutMs);
      this.pending.set(id, { server: s, query: out, resolve, timer });
      this.socket(s.v6).send(out, s.port, s.host, (err) => {
        if (err && this.pending.get(id)?.query === out) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(null);
        }
      });
    });
  }

  private onReply(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12 || !(msg[2] & 0x80)) return;
    const id = (msg[0] << 8) | msg[1];
    const p = this.pending.get(id);
    if (!p || rinfo.port !== p.server.port || !sameAddress(rinfo.address, p.server.host)) return;
    // The question must be ours too (a guessed id alone is not enough to inject an answer).
    const qEnd = questionEnd(p.query);
    if (qEnd < 0 || msg.length < qEnd || !sameQuestion(msg, p.query, qEnd)) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(msg);
  }

  private viaTcp(s: Server, query: Buffer): Promise<Buffer | null> {
    this.counters.tcp++;
    return new Promise((resolve) => {
      let done = false;
      let buf: Buffer = Buffer.alloc(0);
      const sock = net.connect({ host: s.host, port: s.port });
      this.tcpConns.add(sock);
      const finish = (reply: Buffer | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.tcpConns.delete(sock);
        sock.destroy();
        if (!reply) this.counters.timeouts++;
        resolve(reply);
      };
      const timer = setTimeout(() => finish(null), this.timeoutMs);
      sock.on('connect', () => sock.write(tcpFrame(query)));
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const reply = buf.subarray(2, 2 + len);
        finish(reply.length >= 12 && reply[0] === query[0] && reply[1] === query[1] ? Buffer.from(reply) : null);
      });
      sock.on('error', () => finish(null));
      sock.on('close', () => finish(null));
    });
  }

  stats() {
    return { ...this.counters, pending: this.pending.size, inflight: this.inflight.size, down: [...this.downUntil.keys()] };
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
    for (const list of [this.sockets[4], this.sockets[6]]) for (const s of list.splice(0)) s.close();
    for (const c of this.tcpConns) c.destroy();
    this.tcpConns.clear();
  }
}

function withId(reply: Buffer, id: number): Buffer {
  const out = Buffer.from(reply);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  return out;
}

function sameAddress(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}` || a.toLowerCase() === b.toLowerCase();
}

function sameQuestion(reply: Buffer, query: Buffer, qEnd: number): boolean {
  if (reply[4] !== query[4] || reply[5] !== query[5]) return false;
  for (let i = 12; i < qEnd; i++) {
    let x = reply[i];
    let y = query[i];
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}
