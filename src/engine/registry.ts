import type { Store, StoreEvent } from '../store/types.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { invalid, notFound, WeftError } from '../common/errors.js';

// The engine's records, in memory for reads (the API and DNS never wait on the store), kept
// current by the store's watch and written to the store first on every change. A write resolves
// once the store has it, and the in-memory view has it then too.

/** A global store (etcd) can also list at a revision and watch from the next one. */
export interface GlobalStore extends Store {
  listAt(prefix: string): Promise<{ kvs: { key: string; value: string; version: number }[]; revision: number }>;
  watch(prefix: string, follower: (ev: StoreEvent) => void, startRevision?: number): () => void;
}

/** A change another host made to a global record (put: the new record; delete: the last one seen). */
export type RemoteChange<T> = { type: 'put' | 'delete'; doc: T };

class Collection<T extends { id: string }> {
  readonly byId = new Map<string, T>();
  private readonly versions = new Map<string, number>();
  /** Writes of this process under way: the watch event they cause keeps the caller's object. */
  private readonly own = new Map<string, { json: string; doc: T }>();
  private unwatch: (() => void) | null = null;
  /** Records of global scope (in the cluster store) live there; the rest in the local store. */
  private global: { store: GlobalStore; unwatch: () => void } | null = null;
  private readonly globalIds = new Set<string>();
  private readonly ownDeletes = new Set<string>();
  private readonly remoteFollowers = new Set<(c: RemoteChange<T>) => void>();

  constructor(
    private readonly store: Store,
    private readonly prefix: string,
    /** Which records belong to the global store (absent: none do). */
    private readonly isGlobal: (doc: T) => boolean = () => false,
  ) {}

  /** Follows changes made by other hosts to global records. */
  onRemote(f: (c: RemoteChange<T>) => void): () => void {
    this.remoteFollowers.add(f);
    return () => this.remoteFollowers.delete(f);
  }

  /** Reads the global store's records and follows it (this node joined a cluster). */
  async attachGlobal(store: GlobalStore): Promise<void> {
    this.detachGlobal();
    const { kvs, revision } = await store.listAt(this.prefix);
    const unwatch = store.watch(this.prefix, (ev) => this.followGlobal(ev), revision + 1);
    this.global = { store, unwatch };
    for (const kv of kvs) {
      const id = kv.key.slice(this.prefix.length);
      const doc = JSON.parse(kv.value) as T;
      this.globalIds.add(id);
      this.byId.set(id, doc);
      this.versions.set(id, kv.version);
      this.tellRemote({ type: 'put', doc });
    }
  }

  /** Forgets the global records (this node left its cluster). */
  detachGlobal(): void {
    if (!this.global) return;
    this.global.unwatch();
    this.global = null;
    for (const id of this.globalIds) {
      const doc = this.byId.get(id);
      this.byId.delete(id);
      this.versions.delete(id);
      if (doc) this.tellRemote({ type: 'delete', doc });
    }
    this.globalIds.clear();
  }

  get hasGlobal(): boolean {
    return this.global !== null;
  }

  private storeFor(doc: T): Store {
    if (!this.isGlobal(doc)) return this.store;
    if (!this.global) throw new WeftError('Unavailable', 'the cluster store is not available: this node is not part of a cluster');
    return this.global.store;
  }

  private tellRemote(c: RemoteChange<T>): void {
    for (const f of this.remoteFollowers) {
      try {
        f(c);
      } catch {
        /* a follower's failure is its own */
      }
    }
  }

  private followGlobal(ev: StoreEvent): void {
    const id = ev.key.slice(this.prefix.length);
    if (ev.type === 'delete') {
      const doc = this.byId.get(id);
      const mine = this.ownDeletes.delete(id);
      this.globalIds.delete(id);
      this.byId.delete(id);
      this.versions.delete(id);
      if (doc && !mine) this.tellRemote({ type: 'delete', doc });
      return;
    }
    const mine = this.own.get(id);
    if (mine && mine.json === ev.value) return this.apply(id, mine.doc, ev.version);
    if ((this.versions.get(id) ?? 0) >= ev.version) return;
    const doc = JSON.parse(ev.value!) as T;
    this.globalIds.add(id);
    this.apply(id, doc, ev.version);
    this.tellRemote({ type: 'put', doc });
  }

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
      const store = this.storeFor(doc);
      const version = await store.put(this.prefix + doc.id, json);
      if (store !== this.store) this.globalIds.add(doc.id);
      this.apply(doc.id, doc, version);
    } finally {
      if (this.own.get(doc.id)?.json === json) this.own.delete(doc.id);
    }
  }

  async delete(id: string): Promise<void> {
    if (this.globalIds.has(id)) {
      if (!this.global) throw new WeftError('Unavailable', 'the cluster store is not available');
      this.ownDeletes.add(id);
      await this.global.store.delete(this.prefix + id);
      this.globalIds.delete(id);
    } else await this.store.delete(this.prefix + id);
    this.byId.delete(id);
    this.versions.delete(id);
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.global?.unwatch();
    this.global = null;
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
    // Networks of global scope (overlay) are the cluster's: kept in its store once attached.
    this.networks = new Collection(store, 'networks/', (n) => n.scope !== 'local');
    this.containers = new Collection(store, 'containers/');
    this.endpoints = new Collection(store, 'endpoints/');
  }

  /** Reads the records and follows the store from now on. */
  async load(): Promise<void> {
    await Promise.all([this.networks.load(), this.containers.load(), this.endpoints.load()]);
  }

  /** This node joined a cluster: global records come from (and go to) its store. */
  attachGlobal(store: GlobalStore): Promise<void> {
    return this.networks.attachGlobal(store);
  }

  detachGlobal(): void {
    this.networks.detachGlobal();
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
