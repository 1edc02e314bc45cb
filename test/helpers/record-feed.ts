import type { EngineEvent, EngineEventBody } from '../../src/common/events.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import type { DnsFeed, DnsService } from '../../src/dns/server.js';
import { DnsTable, type DnsTableOptions } from '../../src/dns/table.js';

// Records and the events the engine emits for them, without an engine: what the embedded DNS
// follows, for its unit tests. Putting an endpoint is a connect (its container and network must be
// there), deleting it a disconnect; putting a network or container is a create, then an update.

class Records<T extends { id: string }> {
  readonly byId = new Map<string, T>();
  constructor(
    private readonly onPut: (doc: T, isNew: boolean) => void,
    private readonly onDelete: (doc: T) => void,
  ) {}
  put(doc: T): void {
    const isNew = !this.byId.has(doc.id);
    this.byId.set(doc.id, doc);
    this.onPut(doc, isNew);
  }
  delete(id: string): void {
    const doc = this.byId.get(id);
    this.byId.delete(id);
    if (doc) this.onDelete(doc);
  }
  all(): T[] {
    return [...this.byId.values()];
  }
}

export class RecordFeed implements DnsFeed {
  private readonly followers = new Set<(ev: EngineEvent) => void>();
  private clock = 0n;
  readonly networks = new Records<NetworkRecord>(
    (network, isNew) => this.emit({ type: 'network', action: isNew ? 'create' : 'update', network }),
    (network) => this.emit({ type: 'network', action: 'destroy', network }),
  );
  readonly containers = new Records<ContainerRecord>(
    (container, isNew) => this.emit({ type: 'container', action: isNew ? 'create' : 'update', container }),
    (container) => this.emit({ type: 'container', action: 'destroy', container }),
  );
  readonly endpoints = new Records<EndpointRecord>(
    (endpoint) => this.emit({ type: 'network', action: 'connect', endpoint, ...this.owners(endpoint) }),
    (endpoint) => this.emit({ type: 'network', action: 'disconnect', endpoint, ...this.owners(endpoint) }),
  );

  snapshot() {
    return { networks: this.networks.all(), containers: this.containers.all(), endpoints: this.endpoints.all() };
  }

  subscribe(follower: (ev: EngineEvent) => void): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  endpointsOfContainer(id: string): EndpointRecord[] {
    return this.endpoints.all().filter((e) => e.containerId === id);
  }

  /** A lazy driver just made the network's kernel objects. */
  realized(network: NetworkRecord): void {
    this.emit({ type: 'network', action: 'realized', network });
  }

  private owners(ep: EndpointRecord): { network: NetworkRecord; container: ContainerRecord } {
    const network = this.networks.byId.get(ep.networkId);
    const container = this.containers.byId.get(ep.containerId);
    if (!network || !container) throw new Error(`endpoint ${ep.id}: put its network and container first`);
    return { network, container };
  }

  private emit(body: EngineEventBody): void {
    const ev = { ...body, timeNano: ++this.clock } as EngineEvent;
    for (const f of this.followers) f(ev);
  }
}

/** Docker's rule as weft's drivers give it: bridge networks get a listener, host/none nothing. */
export function testDnsService(n: NetworkRecord): DnsService {
  if (n.predefined || n.configOnly || n.driver === 'host' || n.driver === 'null') return 'none';
  return n.driver === 'bridge' ? 'listener' : 'names';
}

/** A table following the feed; stop() ends that. */
export function followingTable(feed: RecordFeed, opts: Partial<DnsTableOptions> = {}): { table: DnsTable; stop: () => void } {
  const table = new DnsTable({ namesOn: (n) => testDnsService(n) !== 'none', ...opts }, feed.snapshot());
  const stop = feed.subscribe((ev) => table.apply(ev));
  return { table, stop };
}
