import { endpointLinks } from '../common/links.js';
import type { EngineEvent } from '../common/events.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { canonicalIp, encodeName, ipv4Bytes, ipv6Bytes, ptrToIp } from './ip.js';

// The embedded DNS's name index (aardvark-dns's "backend"): pure data, no sockets. It is loaded
// with the records once and then follows the engine's events, each costing O(names of the changed
// records), never a rebuild, so a query is a few Map lookups on the daemon's one thread.
//
// Scoping follows Docker: a container resolves the names of the networks it is on (the querier
// is found by the query's source address); names on networks it does not share are not answered
// here (the caller forwards them upstream, which says NXDOMAIN). The predefined networks (the
// default bridge, host, none) have no names at all.

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const RCODE_NOERROR = 0;

/**
 * TTL of container records: 0. Answers come from this process's memory, so client caching
 * saves nothing, and any positive TTL lets a cache (nscd, dnsmasq, systemd-resolved, Go/Java
 * resolvers) keep handing out a removed or restarted container's old address. Docker answers
 * with 600 s (libnetwork resolver.go respTTL), which is exactly that stale-address bug.
 */
export const CONTAINER_TTL = 0;

export interface Rr {
  type: number; // TYPE_A | TYPE_AAAA | TYPE_PTR
  ttl: number;
  /** Text form: the address, or the PTR target name. */
  data: string;
  /** RDATA in wire form (4 or 16 address bytes, or the encoded target name). */
  rdata: Buffer;
}

export interface LookupResult {
  rcode: number;
  answers: Rr[];
}

interface Ep {
  id: string;
  netId: string;
  containerId: string;
  v4: string;
  v6: string;
  names: string[]; // lower case, deduplicated
  a: Rr[]; // 0 or 1 record
  aaaa: Rr[];
  resA: LookupResult;
  resAAAA: LookupResult;
  resEmpty: LookupResult;
  ptr: LookupResult | null;
}

interface NameSet {
  eps: Ep[];
  rr: number; // round-robin rotation for names shared by several endpoints
}

interface Net {
  id: string;
  lname: string;
  internal: boolean;
  /** User-defined networks only: Docker gives the predefined ones no DNS. */
  dns: boolean;
  names: Map<string, NameSet>;
}

interface Ctr {
  id: string;
  eps: Ep[];
  /** The networks of its endpoints, in the order of the container's networks (cached). */
  nets: Net[];
  /** `--link target:alias` on user-defined networks: aliases only this container resolves (Docker). */
  links?: Map<string, string>;
}

/** A remote endpoint (overlay peer), as the cluster store names it. */
export interface DnsPeer {
  epId: string;
  netId: string;
  containerId: string;
  name: string;
  aliases: string[];
  /** Plain IPv4 address. */
  ip: string;
}

/** The records the table starts from. */
export interface DnsSnapshot {
  networks: Iterable<NetworkRecord>;
  containers: Iterable<ContainerRecord>;
  endpoints: Iterable<EndpointRecord>;
}

export interface DnsTableOptions {
  /**
   * Whether a network's containers have names here. Docker: user-defined networks only, of
   * drivers the embedded DNS serves (the engine decides from the driver's capabilities).
   */
  namesOn: (n: NetworkRecord) => boolean;
  /** Search domains of the containers' resolv.conf: "db.example.com" also finds "db". */
  searchDomains?: () => string[];
  ttl?: number;
  /** Called whenever an answer may have changed (a cache of answers drops them). */
  onChange?: () => void;
}

const EMPTY: LookupResult = { rcode: RCODE_NOERROR, answers: [] };

export class DnsTable {
  private readonly nets = new Map<string, Net>();
  private readonly eps = new Map<string, Ep>();
  private readonly byIp = new Map<string, Ep[]>();
  private readonly ctrs = new Map<string, Ctr>();
  private readonly ttl: number;
  private readonly searchDomains: () => string[];

  /** The records as last seen: the index is derived from them. */
  private readonly networkRecs = new Map<string, NetworkRecord>();
  private readonly containerRecs = new Map<string, ContainerRecord>();
  private readonly endpointRecs = new Map<string, EndpointRecord>();
  private readonly namesOn: (n: NetworkRecord) => boolean;
  private readonly changed: () => void;

  constructor(opts: DnsTableOptions, snapshot?: DnsSnapshot) {
    this.ttl = opts.ttl ?? CONTAINER_TTL;
    this.searchDomains = opts.searchDomains ?? (() => []);
    this.namesOn = opts.namesOn;
    this.changed = opts.onChange ?? (() => undefined);
    if (snapshot) this.load(snapshot);
  }

  /** Starts from these records (before following events). */
  private load(snapshot: DnsSnapshot): void {
    for (const n of snapshot.networks) this.putNetwork(n);
    for (const c of snapshot.containers) this.containerRecs.set(c.id, c);
    for (const e of snapshot.endpoints) this.putEndpoint(e);
    this.changed();
  }

  /**
   * Follows one engine event. A new network has no names yet and an empty one answers nothing:
   * network events change answers only for a known network (an update) or one that still has
   * names (a removal).
   */
  apply(ev: EngineEvent): void {
    if (ev.type === 'network') {
      if (ev.action === 'connect' || ev.action === 'disconnect') {
        this.containerRecs.set(ev.container.id, ev.container);
        if (ev.action === 'connect') this.putEndpoint(ev.endpoint);
        else this.removeEp(ev.endpoint.id);
        this.changed();
      } else if (ev.action === 'destroy' || ev.action === 'remove' || ev.action === 'forgotten') {
        if (this.nets.get(ev.network.id)?.names.size) this.changed();
        this.deleteNetwork(ev.network.id);
      } else {
        if (this.nets.has(ev.network.id)) this.changed();
        this.putNetwork(ev.network);
      }
      return;
    }
    if (ev.action === 'destroy') {
      this.deleteContainer(ev.container.id);
      this.containerRecs.delete(ev.container.id);
      this.changed();
    } else if (ev.action === 'rename' || ev.action === 'update' || ev.action === 'create') {
      this.containerRecs.set(ev.container.id, ev.container);
      this.putContainer(ev.container);
      this.changed();
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  /**
   * Answers a query from `sourceIp` (received on `networkId`'s gateway socket), or returns null
   * when the name is not a container's name here (the caller forwards it upstream). `qname` may
   * carry a trailing dot and any case.
   */
  lookup(sourceIp: string, qname: string, qtype: number, networkId?: string): LookupResult | null {
    let name = qname;
    if (name.endsWith('.')) name = name.slice(0, -1);
    name = name.toLowerCase();
    const nets = this.querierNets(sourceIp, networkId);
    if (nets.length === 0) return null;
    if (qtype === TYPE_PTR) return this.lookupPtr(name, nets);
    const linked = this.byIp.get(sourceIp) && this.ctrs.get(this.querierContainer(sourceIp, networkId) ?? '')?.links?.get(name);
    const found = (linked && this.find(linked, nets)) || this.find(name, nets);
    if (found) return this.answer(found, qtype);
    for (const sd of this.searchDomains()) {
      const suffix = '.' + sd.toLowerCase().replace(/\.$/, '');
      if (name.length > suffix.length && name.endsWith(suffix)) {
        const hit = this.find(name.slice(0, -suffix.length), nets);
        if (hit) return this.answer(hit, qtype);
      }
    }
    return null;
  }

  /** The networks the querier's names are resolved on; [] = no local names for it. */
  querierNets(sourceIp: string, networkId?: string): Net[] {
    const eps = this.byIp.get(sourceIp);
    if (eps) {
      // Overlapping subnets: prefer the endpoint on the network that received the query.
      const ep = (networkId && eps.length > 1 && eps.find((e) => e.netId === networkId)) || eps[0];
      const c = this.ctrs.get(ep.containerId);
      if (c) return c.nets;
    }
    // An unknown source (the host itself, a test client): the receiving network only.
    const net = networkId ? this.nets.get(networkId) : undefined;
    return net && net.dns ? [net] : [];
  }

  /** The container a query comes from, if the source address is one of a container's. */
  querierContainer(sourceIp: string, networkId?: string): string | null {
    const eps = this.byIp.get(sourceIp);
    if (!eps) return null;
    const ep = (networkId && eps.length > 1 && eps.find((e) => e.netId === networkId)) || eps[0];
    return ep.containerId;
  }

  /** True when every network of the querier is internal: nothing is forwarded for it (Docker). */
  internalOnly(sourceIp: string, networkId?: string): boolean {
    const nets = this.querierNets(sourceIp, networkId);
    return nets.length > 0 && nets.every((n) => n.internal);
  }

  /** The first of the querier's networks (in its order) that knows the name, as Docker does. */
  private find(name: string, nets: Net[]): NameSet | null {
    for (const n of nets) {
      const set = n.names.get(name);
      if (set) return set;
    }
    // "<container>.<network>" (Docker resolves these too).
    for (const n of nets) {
      const l = n.lname.length;
      if (name.length > l + 1 && name.charCodeAt(name.length - l - 1) === 46 && name.endsWith(n.lname)) {
        const set = n.names.get(name.slice(0, -l - 1));
        if (set) return set;
      }
    }
    return null;
  }

  private answer(set: NameSet, qtype: number): LookupResult {
    const eps = set.eps;
    if (eps.length === 1) {
      const ep = eps[0];
      return qtype === TYPE_A ? ep.resA : qtype === TYPE_AAAA ? ep.resAAAA : ep.resEmpty;
    }
    if (qtype !== TYPE_A && qtype !== TYPE_AAAA) return EMPTY;
    const start = set.rr++ % eps.length;
    if (set.rr >= 0x40000000) set.rr = 0;
    const answers: Rr[] = [];
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[(start + i) % eps.length];
      const rrs = qtype === TYPE_A ? ep.a : ep.aaaa;
      if (rrs.length) answers.push(rrs[0]);
    }
    return answers.length ? { rcode: RCODE_NOERROR, answers } : EMPTY;
  }

  private lookupPtr(name: string, nets: Net[]): LookupResult | null {
    const ip = ptrToIp(name);
    if (!ip) return null;
    const eps = this.byIp.get(ip);
    if (!eps) return null;
    for (const n of nets) {
      for (const ep of eps) if (ep.netId === n.id && ep.ptr) return ep.ptr;
    }
    return null;
  }

  /** For stats and tests: how many names each network holds. */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.nets.values()) out[n.id] = n.names.size;
    return out;
  }

  // ---- index maintenance ---------------------------------------------------------------------

  private putNetwork(rec: NetworkRecord): void {
    this.networkRecs.set(rec.id, rec);
    const existing = this.nets.get(rec.id);
    const dns = this.namesOn(rec);
    if (existing) {
      existing.lname = rec.name.toLowerCase();
      existing.internal = rec.internal;
      if (existing.dns !== dns) {
        existing.dns = dns;
        for (const ep of [...this.eps.values()]) if (ep.netId === rec.id) this.reindex(ep.id);
      }
      return;
    }
    this.nets.set(rec.id, { id: rec.id, lname: rec.name.toLowerCase(), internal: rec.internal, dns, names: new Map() });
    // Endpoints seen before their network (a global network arriving from the cluster store).
    for (const ep of [...this.endpointRecs.values()]) if (ep.networkId === rec.id && !this.eps.has(ep.id)) this.putEndpoint(ep);
  }

  // ---- endpoints on other hosts (overlay peers) ---------------------------------------------

  /** An endpoint of another host: its names on its (global) network, nothing else. */
  putPeer(p: DnsPeer): void {
    const prev = this.containerRecs.get(p.containerId);
    const networks = [...(prev?.networks.filter((a) => a.networkId !== p.netId) ?? []), { networkId: p.netId, aliases: p.aliases, links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }];
    const c = { id: p.containerId, name: p.name, networks, config: { Hostname: '' } } as unknown as ContainerRecord;
    this.containerRecs.set(c.id, c);
    this.putEndpoint({ id: p.epId, networkId: p.netId, containerId: p.containerId, ifname: '', hostIfname: '', ipv4: p.ip, ipv6: '', gateway4: '', gateway6: '', mac: '', aliases: p.aliases, requestedIpv4: '', requestedIpv6: '' });
    this.changed();
  }

  removePeer(epId: string): void {
    const rec = this.endpointRecs.get(epId);
    this.removeEp(epId);
    if (rec && !this.ctrs.has(rec.containerId)) this.containerRecs.delete(rec.containerId);
    this.changed();
  }

  private deleteNetwork(id: string): void {
    for (const ep of [...this.eps.values()]) if (ep.netId === id) this.removeEp(ep.id);
    this.nets.delete(id);
    this.networkRecs.delete(id);
  }

  private putEndpoint(rec: EndpointRecord): void {
    this.removeEp(rec.id);
    this.endpointRecs.set(rec.id, rec);
    const c = this.containerRecs.get(rec.containerId);
    // An endpoint whose network the container no longer lists is already gone for DNS (its
    // docker_gwbridge endpoint is not listed: it has no names, it only says who is asking).
    if (c && !rec.gatewayService && !c.networks.some((a) => a.networkId === rec.networkId)) return;
    let net = this.nets.get(rec.networkId);
    if (!net) {
      const nrec = this.networkRecs.get(rec.networkId);
      if (!nrec) return;
      this.putNetwork(nrec);
      net = this.nets.get(rec.networkId)!;
    }
    const v4 = canonicalIp(rec.ipv4);
    const v6 = canonicalIp(rec.ipv6);
    const names = net.dns && !rec.gatewayService ? namesOf(c, rec) : [];
    const a: Rr[] = v4 ? [{ type: TYPE_A, ttl: this.ttl, data: v4, rdata: ipv4Bytes(v4) }] : [];
    const aaaa: Rr[] = v6 ? [{ type: TYPE_AAAA, ttl: this.ttl, data: v6, rdata: ipv6Bytes(v6)! }] : [];
    let ptr: LookupResult | null = null;
    if (net.dns && names.length) {
      // Docker's PTR answer: "<container name>.<network name>".
      const target = `${c ? c.name : names[0]}.${net.lname}`;
      ptr = { rcode: RCODE_NOERROR, answers: [{ type: TYPE_PTR, ttl: this.ttl, data: target, rdata: encodeName(target) }] };
    }
    const ep: Ep = {
      id: rec.id,
      netId: rec.networkId,
      containerId: rec.containerId,
      v4,
      v6,
      names,
      a,
      aaaa,
      resA: { rcode: RCODE_NOERROR, answers: a },
      resAAAA: { rcode: RCODE_NOERROR, answers: aaaa },
      resEmpty: EMPTY,
      ptr,
    };
    this.eps.set(ep.id, ep);
    for (const name of names) {
      let set = net.names.get(name);
      if (!set) net.names.set(name, (set = { eps: [], rr: 0 }));
      set.eps.push(ep);
    }
    for (const ip of [v4, v6]) {
      if (!ip) continue;
      const list = this.byIp.get(ip);
      if (list) list.push(ep);
      else this.byIp.set(ip, [ep]);
    }
    let ctr = this.ctrs.get(ep.containerId);
    if (!ctr) this.ctrs.set(ep.containerId, (ctr = { id: ep.containerId, eps: [], nets: [] }));
    ctr.eps.push(ep);
    this.orderNets(ctr, c);
  }

  private removeEp(id: string): void {
    this.endpointRecs.delete(id);
    const ep = this.eps.get(id);
    if (!ep) return;
    this.eps.delete(id);
    const net = this.nets.get(ep.netId);
    if (net) {
      for (const name of ep.names) {
        const set = net.names.get(name);
        if (!set) continue;
        const i = set.eps.indexOf(ep);
        if (i >= 0) set.eps.splice(i, 1);
        if (set.eps.length === 0) net.names.delete(name);
      }
    }
    for (const ip of [ep.v4, ep.v6]) {
      const list = ip ? this.byIp.get(ip) : undefined;
      if (!list) continue;
      const i = list.indexOf(ep);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byIp.delete(ip);
    }
    const ctr = this.ctrs.get(ep.containerId);
    if (ctr) {
      ctr.eps = ctr.eps.filter((e) => e !== ep);
      if (ctr.eps.length === 0) this.ctrs.delete(ctr.id);
      else this.orderNets(ctr, this.containerRecs.get(ctr.id));
    }
  }

  private reindex(epId: string): void {
    const rec = this.endpointRecs.get(epId);
    if (rec) this.putEndpoint(rec);
    else this.removeEp(epId);
  }

  /** A container changed (rename, alias, connect/disconnect): only its own endpoints move. */
  private putContainer(c: ContainerRecord): void {
    const ctr = this.ctrs.get(c.id);
    if (!ctr) return;
    for (const ep of [...ctr.eps]) {
      const att = c.networks.find((a) => a.networkId === ep.netId);
      if (!att) {
        this.removeEp(ep.id);
        continue;
      }
      const net = this.nets.get(ep.netId);
      const rec = this.endpointRecs.get(ep.id);
      const names = net?.dns && rec ? namesOf(c, rec) : [];
      if (!sameList(names, ep.names)) this.reindex(ep.id);
    }
    const now = this.ctrs.get(c.id);
    if (now) this.orderNets(now, c);
  }

  private deleteContainer(id: string): void {
    const ctr = this.ctrs.get(id);
    if (ctr) for (const ep of [...ctr.eps]) this.removeEp(ep.id);
  }

  private orderNets(ctr: Ctr, c: ContainerRecord | undefined): void {
    const order = c ? c.networks.map((a) => a.networkId) : [];
    const eps = [...ctr.eps].sort((x, y) => rank(order, x.netId) - rank(order, y.netId));
    const nets: Net[] = [];
    for (const ep of eps) {
      const n = this.nets.get(ep.netId);
      if (n && n.dns && !nets.includes(n)) nets.push(n);
    }
    ctr.nets = nets;
    const links = c ? endpointLinks(c) : [];
    ctr.links = links.length ? new Map(links.map((l) => [l.alias.toLowerCase(), l.target.toLowerCase()])) : undefined;
  }
}

function rank(order: string[], id: string): number {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

/**
 * The names an endpoint answers to: container name, network aliases, short ID, hostname
 * (src/api/format/container.ts dnsNames, which takes aliases from the attachment; the endpoint
 * carries a copy of them).
 */
function namesOf(c: ContainerRecord | undefined, ep: EndpointRecord): string[] {
  const att = c?.networks.find((a) => a.networkId === ep.networkId);
  const raw = [c?.name ?? '', ...(att?.aliases ?? ep.aliases), ep.containerId.slice(0, 12), c?.config.Hostname ?? ''];
  const out: string[] = [];
  for (const r of raw) {
    const n = r.toLowerCase().replace(/\.$/, '');
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
