import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { EngineEvent } from '../common/events.js';
import type { ContainerRecord, NetworkRecord } from '../common/model.js';
import { hostResolvers, type ResolvInput } from './resolv.js';
import { clientAddress, UdpFront, type ClientAddr, type Rotation } from './front.js';
import { DnsTable, type DnsPeer, type DnsSnapshot, type LookupResult } from './table.js';
import { Upstream } from './upstream.js';
import { buildAnswer, buildError, buildSlowAnswer, CLASS_IN, parseQuery, RCODE, slowQuery, tcpFrame, truncateForUdp, type Query } from './wire.js';

// weft's embedded DNS: one UDP and one TCP socket on the gateway address of each user-defined
// network (aardvark-dns's layout; Docker's 127.0.0.11 would need a socket inside every container
// namespace, which Node cannot open, plus a NAT rule per container). The querier is identified
// by the query's source address; see table.ts for what it may resolve. UDP goes through weft-dns
// (front.ts), which answers repeats from a cache this server fills and flushes; TCP is served here.

export interface DnsLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * How the embedded DNS serves a network (the engine derives it from the driver's capabilities):
 * 'listener': a listener on its gateway addresses, and its containers' names; 'names': names
 * only (its gateway is not ours, e.g. macvlan's router; containers also on a 'listener' network
 * still resolve them); 'none': predefined networks, drivers without DNS.
 */
export type DnsService = 'listener' | 'names' | 'none';

/** Where the records come from: a snapshot, then the engine's events. */
export interface DnsFeed {
  snapshot(): DnsSnapshot;
  subscribe(follower: (ev: EngineEvent) => void): () => void;
}

/** Endpoints on other hosts (overlay peers): their names resolve on their global networks. */
export interface DnsPeerFeed {
  snapshot(): DnsPeer[];
  subscribe(follower: (type: 'put' | 'delete', peer: DnsPeer) => void): () => void;
}

export interface DnsServerOptions {
  feed: DnsFeed;
  peers?: DnsPeerFeed;
  service: (n: NetworkRecord) => DnsService;
  /** Upstream resolvers ("ip" or "ip:port"); read on every forwarded query. */
  upstreams: () => string[];
  /**
   * Per-container upstreams (Docker: a container's --dns servers are its embedded resolver's
   * upstreams); undefined/empty = upstreams().
   */
  upstreamsFor?: (containerId: string) => string[] | undefined;
  log: DnsLogger;
  /**
   * Whether a network's gateway address exists yet (bridges are lazy: made at the first join).
   * Unrealized networks get no listener until their 'realized' event; absent: all are realized.
   */
  isRealized?: (n: NetworkRecord) => boolean;
  port?: number;
  /** Search domains the containers get (so "db.<domain>" finds db); default: the host's. */
  searchDomains?: () => string[];
  upstreamTimeoutMs?: number;
  upstreamDownMs?: number;
  /** Bounded upstream work: exchanges in flight at most (beyond: SERVFAIL at once). */
  maxPendingUpstream?: number;
  /** TCP connections at most, over all listeners. */
  maxTcpConnections?: number;
}

interface Listener {
  /** weft-dns's listener id. */
  id: number;
  networkId: string;
  address: string;
  tcp: net.Server;
  conns: Set<net.Socket>;
}

const TCP_IDLE_MS = 10_000;
const MAX_TCP_BUFFER = 65535 + 2;

export class DnsServer {
  readonly table: DnsTable;
  readonly upstream: Upstream;
  private readonly port: number;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly byId = new Map<number, Listener>();
  private nextId = 1;
  private readonly front: UdpFront;
  private readonly opening = new Map<string, Promise<void>>();
  /** Opens in flight (binding or waiting to retry), per network: close() cancels, syncNetwork() wakes. */
  private readonly pending = new Map<string, Set<PendingOpen>>();
  private tcpCount = 0;
  private readonly maxTcp: number;
  private followers: (() => void)[] = [];
  /** Queries that reached this process (UDP cache misses and TCP); weft-dns counts its hits. */
  readonly counters = { queries: 0, tcpQueries: 0, local: 0, forwarded: 0, servfail: 0, formerr: 0, refused: 0, dropped: 0, slowPath: 0 };

  constructor(private readonly opts: DnsServerOptions) {
    this.port = opts.port ?? 53;
    this.maxTcp = opts.maxTcpConnections ?? 512;
    this.front = new UdpFront(
      (id, client, query) => this.onUdp(id, client, query),
      opts.log,
      (id) => this.forgetListener(id),
    );
    const search = flushOnChange(opts.searchDomains ?? cachedHostSearch(), () => this.front.flush());
    // Cache hits never consult the search domains: look at them now and then, so that a cached
    // "db.<domain>" answer does not outlive the domain.
    const searchTimer = setInterval(search, 5000);
    searchTimer.unref();
    this.followers.push(() => clearInterval(searchTimer));
    // Cached replies are answers of the table: whatever may change one drops them all (in the
    // same turn as the table's own update, so no reply computed before it is kept after).
    this.table = new DnsTable({ namesOn: (n) => opts.service(n) !== 'none', searchDomains: search, onChange: () => this.front.flush() }, opts.feed.snapshot());
    this.followers.push(opts.feed.subscribe((ev) => this.table.apply(ev)));
    if (opts.peers) {
      for (const p of opts.peers.snapshot()) this.table.putPeer(p);
      this.followers.push(opts.peers.subscribe((type, p) => (type === 'put' ? this.table.putPeer(p) : this.table.removePeer(p.epId))));
    }
    this.upstream = new Upstream({
      servers: opts.upstreams,
      timeoutMs: opts.upstreamTimeoutMs,
      downMs: opts.upstreamDownMs,
      maxPending: opts.maxPendingUpstream,
    });
  }

  /** Serves DNS on `address`:port (UDP and TCP) for `networkId`. Idempotent per address. */
  async listen(networkId: string, address: string): Promise<void> {
    const key = `${networkId}|${address}`;
    const current = this.listeners.get(networkId);
    if (current?.some((l) => l.address === address)) return;
    const busy = this.opening.get(key);
    if (busy) return busy;
    const p = this.open(networkId, address).finally(() => this.opening.delete(key));
    this.opening.set(key, p);
    return p;
  }

  private async open(networkId: string, address: string): Promise<void> {
    const me: PendingOpen = { cancelled: false, wake: null };
    const set = this.pending.get(networkId) ?? new Set<PendingOpen>();
    set.add(me);
    this.pending.set(networkId, set);
    const id = this.nextId++;
    try {
      await bindWithRetry(() => this.front.listen(id, address, this.port), me);
      const tcp = net.createServer({ noDelay: true });
      try {
        await bindWithRetry(
          () =>
            new Promise<void>((resolve, reject) => {
              tcp.once('error', reject);
              tcp.listen({ host: address, port: this.port, backlog: 511 }, () => {
                tcp.off('error', reject);
                resolve();
              });
            }),
          me,
        );
      } catch (err) {
        await this.front.close(id);
        throw err;
      }
      if (me.cancelled) {
        // The network went away while binding: never serve a stale listener (its address may
        // be reused by the next network).
        await this.front.close(id);
        tcp.close();
        throw cancelledError();
      }
      this.addListener(id, networkId, address, tcp);
    } finally {
      set.delete(me);
      if (set.size === 0 && this.pending.get(networkId) === set) this.pending.delete(networkId);
    }
  }

  private addListener(id: number, networkId: string, address: string, tcp: net.Server): void {
    const l: Listener = { id, networkId, address, tcp, conns: new Set() };
    this.byId.set(id, l);
    tcp.on('connection', (sock) => this.onTcp(l, sock));
    tcp.on('error', (err) => this.opts.log.warn({ network: networkId, address, err: String(err) }, 'dns tcp socket error'));
    const list = this.listeners.get(networkId) ?? [];
    list.push(l);
    this.listeners.set(networkId, list);
    this.opts.log.debug({ network: networkId, address, port: this.port }, 'dns listening');
  }

  /** Stops serving `networkId` (every address of it). */
  async close(networkId: string): Promise<void> {
    for (const p of this.pending.get(networkId) ?? []) {
      p.cancelled = true;
      p.wake?.();
    }
    const list = this.listeners.get(networkId);
    this.listeners.delete(networkId);
    if (!list) return;
    await Promise.all(list.map((l) => this.closeListener(l)));
  }

  /** weft-dns lost a listener for good: forget it, so the network's next change opens it again. */
  private forgetListener(id: number): void {
    const l = this.byId.get(id);
    if (!l) return;
    this.listeners.set(l.networkId, (this.listeners.get(l.networkId) ?? []).filter((x) => x !== l));
    if (this.listeners.get(l.networkId)?.length === 0) this.listeners.delete(l.networkId);
    void this.closeListener(l);
  }

  private async closeListener(l: Listener): Promise<void> {
    this.byId.delete(l.id);
    for (const c of l.conns) c.destroy();
    await Promise.all([this.front.close(l.id), new Promise<void>((resolve) => l.tcp.close(() => resolve()))]);
  }

  async closeAll(): Promise<void> {
    for (const off of this.followers.splice(0)) off();
    await Promise.all([...new Set([...this.listeners.keys(), ...this.pending.keys()])].map((id) => this.close(id)));
    this.upstream.close();
    this.front.stop();
  }

  /**
   * Opens and closes listeners as networks come and go (the table follows the records from the
   * start) (every realized network the service gives a listener). A
   * network is created before its bridge exists (bridges are lazy: made by the first join,
   * possibly much later, or never), so an unrealized network is left alone until its 'realized'
   * event; binding is still retried for a while when the address is not usable yet (IPv6
   * duplicate address detection), see bindWithRetry.
   */
  follow(): void {
    const { feed } = this.opts;
    const realized = this.opts.isRealized ?? (() => true);
    const sync = (n: NetworkRecord) =>
      void this.syncNetwork(n).catch((err) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ECANCELED') return; // the network was removed meanwhile
        if (code === 'EADDRNOTAVAIL') this.opts.log.debug({ network: n.name }, 'dns listener gave up: the gateway address is not usable');
        else this.opts.log.warn({ network: n.name, err: String(err) }, 'dns listen failed');
      });
    this.followers.push(
      feed.subscribe((ev) => {
        if (ev.type !== 'network') return;
        if (ev.action === 'destroy' || ev.action === 'remove' || ev.action === 'forgotten') void this.close(ev.network.id);
        else if (ev.action === 'realized' || ((ev.action === 'create' || ev.action === 'update') && realized(ev.network))) sync(ev.network);
      }),
    );
    for (const n of feed.snapshot().networks) if (realized(n)) sync(n);
  }

  /** Brings the listeners of one network in line with its record. */
  async syncNetwork(n: NetworkRecord): Promise<void> {
    for (const p of this.pending.get(n.id) ?? []) p.wake?.(); // its address may exist now: retry at once
    const want = this.opts.service(n) === 'listener' ? dnsAddresses(n) : [];
    const have = this.listeners.get(n.id) ?? [];
    for (const l of have.filter((x) => !want.includes(x.address))) {
      this.listeners.set(n.id, (this.listeners.get(n.id) ?? []).filter((x) => x !== l));
      await this.closeListener(l);
    }
    await Promise.all(want.map((a) => this.listen(n.id, a)));
  }

  /** Counters; `queries` and `local` include weft-dns's cache hits (`cache`). */
  async stats() {
    const listening: Record<string, string[]> = {};
    for (const [id, list] of this.listeners) listening[id] = list.map((l) => l.address);
    const cache = await this.front.stats();
    const c = this.counters;
    return { ...c, queries: c.queries + cache.hits, local: c.local + cache.hits, cache, tcpConnections: this.tcpCount, listening, upstream: this.upstream.stats(), names: this.table.sizes() };
  }

  // ---- query handling ------------------------------------------------------------------------

  private onUdp(listenerId: number, client: ClientAddr, msg: Buffer): void {
    const l = this.byId.get(listenerId);
    if (!l) return; // closed meanwhile
    this.counters.queries++;
    try {
      const src = clientAddress(client);
      const q = parseQuery(msg);
      if (q !== null && q.qclass === CLASS_IN) {
        const res = this.table.lookup(src, q.qname, q.qtype, l.networkId);
        if (res !== null) {
          this.counters.local++;
          const reply = buildAnswer(msg, q, res, q.udpSize);
          this.front.reply(l.id, client, msg, reply, rotationOf(reply, q.qEnd, res));
          return;
        }
      }
      // Answered later (forwarded): copies, not views into weft-dns's read chunk.
      const query = Buffer.from(msg);
      const from = Buffer.from(client);
      this.handle(l, query, src, q, false, (reply) => this.front.reply(l.id, from, query, reply, null));
    } catch (err) {
      this.counters.dropped++;
      this.opts.log.debug({ err: String(err) }, 'dns query failed');
    }
  }

  /** Everything but the UDP fast path's local answers: slow path, forwarding, errors. */
  private handle(l: Listener, msg: Buffer, src: string, fast: Query | null, tcp: boolean, send: (b: Buffer) => void): void {
    try {
      let udpSize = 65535;
      if (fast === null) {
        this.counters.slowPath++;
        const s = slowQuery(msg);
        if (s.kind === 'drop') {
          this.counters.dropped++;
          return;
        }
        if (s.kind === 'reply') {
          this.counters.formerr++;
          send(s.packet);
          return;
        }
        udpSize = tcp ? 65535 : s.udpSize;
        if (s.qclass === CLASS_IN) {
          const res = this.table.lookup(src, s.qname, s.qtype, l.networkId);
          if (res) {
            this.counters.local++;
            send(buildSlowAnswer(s, res, udpSize));
            return;
          }
        }
      } else {
        udpSize = tcp ? 65535 : fast.udpSize;
        if (tcp && fast.qclass === CLASS_IN) {
          const res = this.table.lookup(src, fast.qname, fast.qtype, l.networkId);
          if (res) {
            this.counters.local++;
            send(buildAnswer(msg, fast, res, 65535));
            return;
          }
        }
      }
      this.forward(l, msg, src, fast, tcp, udpSize, send);
    } catch (err) {
      // Never let one packet take the daemon down.
      this.counters.dropped++;
      this.opts.log.debug({ err: String(err) }, 'dns query failed');
    }
  }

  private forward(l: Listener, msg: Buffer, src: string, fast: Query | null, tcp: boolean, udpSize: number, send: (b: Buffer) => void): void {
    const fail = (rcode: number) => {
      if (rcode === RCODE.SERVFAIL) this.counters.servfail++;
      else this.counters.refused++;
      send(fast ? buildError(msg, fast, rcode) : errorFrom(msg, rcode));
    };
    // Docker forwards nothing for containers that are on internal networks only.
    if (this.table.internalOnly(src, l.networkId)) return fail(RCODE.SERVFAIL);
    this.counters.forwarded++;
    let servers: string[] | undefined;
    if (this.opts.upstreamsFor) {
      const cid = this.table.querierContainer(src, l.networkId);
      const own = cid ? this.opts.upstreamsFor(cid) : undefined;
      if (own && own.length) servers = own;
    }
    this.upstream.query(msg, tcp, servers).then(
      (reply) => {
        if (!reply) return fail(RCODE.SERVFAIL);
        const out = tcp ? reply : truncateForUdp(reply, udpSize);
        if (out) send(out);
        else fail(RCODE.SERVFAIL);
      },
      () => fail(RCODE.SERVFAIL),
    );
  }

  private onTcp(l: Listener, sock: net.Socket): void {
    if (this.tcpCount >= this.maxTcp) {
      sock.destroy();
      return;
    }
    this.tcpCount++;
    l.conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.tcpCount--;
      l.conns.delete(sock);
    });
    let buf: Buffer = Buffer.alloc(0);
    const src = net.isIPv4(sock.remoteAddress ?? '') ? sock.remoteAddress! : (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    const send = (reply: Buffer) => {
      if (!sock.destroyed) sock.write(tcpFrame(reply));
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (buf.length > MAX_TCP_BUFFER * 4) {
        sock.destroy();
        return;
      }
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        this.counters.queries++;
        this.counters.tcpQueries++;
        const q = parseQuery(msg);
        this.handle(l, msg, src, q, true, send);
      }
    });
  }
}

/** The addresses weft's DNS listens on for a network it serves with a listener: its gateways. */
export function dnsAddresses(n: NetworkRecord): string[] {
  const out: string[] = [];
  for (const pool of n.ipam.config) {
    if (!pool.Gateway) continue;
    if (pool.Subnet.includes(':') && !n.enableIPv6) continue;
    out.push(pool.Gateway.split('/')[0]);
  }
  return out;
}

/**
 * The resolv.conf of a container: null when it gets no embedded DNS (only on the predefined
 * bridge, host or none: the caller writes the host's resolvers as Docker does); otherwise the
 * gateways of its user-defined networks in its network order (glibc reads three at most; any one
 * of them answers for all the container's networks), the host's search domains, ndots:0.
 */
export function resolvConfFor(
  c: ContainerRecord,
  networkById: (id: string) => NetworkRecord | undefined,
  service: (n: NetworkRecord) => DnsService,
  host: ResolvInput = hostResolvers(),
  /** Networks of endpoints the container did not ask for (docker_gwbridge): their listeners serve it too. */
  extraNetworkIds: string[] = [],
): ResolvInput | null {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const id of [...c.networks.map((a) => a.networkId), ...extraNetworkIds]) {
    const n = networkById(id);
    if (!n || service(n) !== 'listener') continue;
    for (const a of dnsAddresses(n)) {
      const list = net.isIPv6(a) ? v6 : v4;
      if (!list.includes(a)) list.push(a);
    }
  }
  // IPv4 gateways first: a container always has IPv4 on a dual-stack network.
  const nameservers = [...v4, ...v6].slice(0, 3);
  if (nameservers.length === 0) return null;
  return { nameservers, search: [...host.search], options: ['ndots:0'] };
}

/**
 * The upstream resolvers for the daemon's forwarding: the host's resolv.conf nameservers
 * *including* loopback ones (systemd-resolved's 127.0.0.53): unlike Docker, which forwards from
 * inside the container's namespace, weft forwards from the daemon, in the host namespace.
 * Falls back to hostResolvers() (loopback-free, Docker's 8.8.8.8 default) when there are none.
 */
export function hostUpstreams(path = '/etc/resolv.conf'): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* none */
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const [key, value] = raw.trim().split(/\s+/);
    if (key === 'nameserver' && value && net.isIP(value)) out.push(value); // link-local keeps its %zone
  }
  return out.length ? out : hostResolvers(path).nameservers;
}

function errorFrom(msg: Buffer, rcode: number): Buffer {
  const q = parseQuery(msg);
  if (q) return buildError(msg, q, rcode);
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, Math.min(12, msg.length));
  out[2] = 0x80 | (out[2] & 0x79);
  out[3] = 0x80 | (rcode & 0xf);
  out.fill(0, 4, 12);
  return out;
}

/**
 * How weft-dns may rotate a cached local answer on each hit (Docker answers shared names in
 * varying order): the answer records, when there are several of one size (A or AAAA).
 */
function rotationOf(reply: Buffer, qEnd: number, res: LookupResult): Rotation {
  const count = (reply[6] << 8) | reply[7];
  const size = 12 + (res.answers[0]?.rdata.length ?? 0);
  if (count < 2 || res.answers.some((a) => a.rdata.length + 12 !== size)) return { offset: 0, count: 0, size: 0 };
  return { offset: qEnd, count, size };
}

/** Wraps a getter so that `onChange` runs when the value it returns changes. */
function flushOnChange(get: () => string[], onChange: () => void): () => string[] {
  let last: string | undefined;
  return () => {
    const value = get();
    const key = value.join(' ');
    if (last !== undefined && key !== last) onChange();
    last = key;
    return value;
  };
}

interface PendingOpen {
  cancelled: boolean;
  /** Ends the current retry wait early (set while waiting). */
  wake: (() => void) | null;
}

function cancelledError(): NodeJS.ErrnoException {
  return Object.assign(new Error('dns listener cancelled: network removed'), { code: 'ECANCELED' });
}

/**
 * EADDRNOTAVAIL while the bridge (or IPv6 DAD) is not ready yet: retried for up to ~10 s; a wait
 * ends early on wake() (the network was realized) and the retry stops once cancelled.
 */
async function bindWithRetry<T>(bind: () => Promise<T>, ctl: PendingOpen): Promise<T> {
  let delay = 20;
  for (let waited = 0; ; ) {
    if (ctl.cancelled) throw cancelledError();
    try {
      return await bind();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' || waited > 10_000) throw err;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, delay);
        function done() {
          clearTimeout(t);
          ctl.wake = null;
          resolve();
        }
        ctl.wake = done;
      });
      waited += delay;
      delay = Math.min(delay * 2, 1000);
    }
  }
}

function cachedHostSearch(): () => string[] {
  let at = 0;
  let value: string[] = [];
  return () => {
    const now = Date.now();
    if (now - at > 5000) {
      at = now;
      value = hostResolvers().search;
    }
    return value;
  };
}
