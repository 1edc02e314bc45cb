import type { Store, StoreEvent } from '../store/types.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { invalid, notFound } from '../common/errors.js';

// The engine's records, in memory for reads (the API and DNS never wait on the store), kept
// current by the store's watch and written to the store first on every change. A write resolves
// once the store has it, and the in-memory view has it then too.

class Collection<T extends { id: string }> {
  readonly byId = new Map<string, T>();
  private readonly versions = new Map<string, number>();
  /** Writes of this process under way: the watch event they cause keeps the caller's object. */
  private readonly own = new Map<string, { json: string; doc: T }>();
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
  ) {}

  /** Reads every record once, then follows the store. */
  async load(): Promise<void> {
    this.unwatch?.();
    this.unwatch = this.store.watch(this.prefix, (ev) => this.follow(ev));
    for (const kv of await this.store.list(this.prefix)) {
      const id = kv.key.slice(this.prefix.length);
      if ((this.versions.get(id) ?? 0) >= kv.version) continue; // a watch event was newer
      this.byId.set(id, JSON.parse(kv.value) as T);
      this.versions.set(id, kv.version);
    }
  }

  async put(doc: T): Promise<void> {
    const json = JSON.stringify(doc);
    this.own.set(doc.id, { json, doc });
    try {
      const version = await this.store.put(this.prefix + doc.id, json);
      this.apply(doc.id, doc, version);
    } finally {
      if (this.own.get(doc.id)?.json === json) this.own.delete(doc.id);
    }
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(this.prefix + id);
    this.byId.delete(id);
    this.versions.delete(id);
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = null;
  }

  private follow(ev: StoreEvent): void {
    const id = ev.key.slice(this.prefix.length);
    if (ev.type === 'delete') {
      this.byId.delete(id);
      this.versions.delete(id);
      return;
    }
    const mine = this.own.get(id);
    this.apply(id, mine && mine.json === ev.value ? mine.doc : (JSON.parse(ev.value!) as T), ev.version);
  }

  private apply(id: string, doc: T, version: number): void {
    if ((this.versions.get(id) ?? 0) > version) return; // an older write arriving late
    this.byId.set(id, doc);
    this.versions.set(id, version);
  }
}

export type LookupStyle = 'get' | 'find';

export class Registry {
  readonly networks: Collection<NetworkRecord>;
  readonly containers: Collection<ContainerRecord>;
  readonly endpoints: Collection<EndpointRecord>;

  constructor(readonly store: Store) {
    this.networks = new Collection(store, 'networks/');
    this.containers = new Collection(store, 'containers/');
    this.endpoints = new Collection(store, 'endpoints/');
  }

  /** Reads the records and follows the store from now on. */
  async load(): Promise<void> {
    await Promise.all([this.networks.load(), this.containers.load(), this.endpoints.load()]);
  }

  async close(): Promise<void> {
    for (const c of [this.networks, this.containers, this.endpoints]) c.close();
    await this.store.close();
  }

  /**
   * Docker's lookup: a full ID wins at once; else an exact name (several networks may share one
   * when created with CheckDuplicate off), else a unique ID prefix. `style` picks the wording of
   * the ambiguity error: 'get' is GET /networks/{id}'s, 'find' the daemon's FindNetwork (rm,
   * connect, disconnect, NetworkMode).
   */
  findNetwork(ref: string, style: LookupStyle = 'find'): NetworkRecord {
    const found = this.lookupNetwork(ref, style);
    if (!found) throw notFound(`network ${ref} not found`);
    return found;
  }

  lookupNetwork(ref: string, style: LookupStyle = 'find'): NetworkRecord | undefined {
    const byId = this.networks.byId.get(ref);
    if (byId) return byId;
    const all = this.networks.all();
    const byName = all.filter((n) => n.name === ref);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) {
      throw invalid(style === 'get' ? `${byName.length} matches found based on name: network ${ref} is ambiguous` : `network ${ref} is ambiguous (${byName.length} matches found based on name)`);
    }
    if (!ref) return undefined;
    const prefixed = all.filter((n) => n.id.startsWith(ref));
    if (prefixed.length > 1) {
      throw invalid(style === 'get' ? `${prefixed.length} matches found based on ID prefix: network ${ref} is ambiguous` : `network ${ref} is ambiguous (${prefixed.length} matches found based on ID prefix)`);
    }
    return prefixed[0];
  }

  findContainer(ref: string): ContainerRecord {
    const found = this.lookupContainer(ref);
    if (!found) throw notFound(`No such container: ${ref}`);
    return found;
  }

  lookupContainer(ref: string): ContainerRecord | undefined {
    if (ref === '') throw invalid('invalid name or ID supplied: ""');
    const byId = this.containers.byId.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const all = this.containers.all();
    const byName = all.find((c) => c.name === name);
    if (byName) return byName;
    if (!ref) return undefined;
    const prefixed = all.filter((c) => c.id.startsWith(ref));
    if (prefixed.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    return prefixed[0];
  }

  endpointsOfNetwork(networkId: string): EndpointRecord[] {
    return this.endpoints.all().filter((e) => e.networkId === networkId);
  }

  endpointsOfContainer(containerId: string): EndpointRecord[] {
    return this.endpoints.all().filter((e) => e.containerId === containerId);
  }
}
