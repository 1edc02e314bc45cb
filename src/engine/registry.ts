import { EventEmitter } from 'node:events';
import type { Db } from '../store/db.js';
import { DocTable } from '../store/db.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { invalid, notFound } from '../common/errors.js';

// The engine's records: in memory for reads (the API and DNS never wait on the database),
// written through to SQLite first on every change.

/**
 * Emits ('put', doc) and ('delete', doc) after each change, so indexes kept elsewhere (the DNS
 * table, later `docker events`) follow the records without scanning them.
 */
class Collection<T extends { id: string }> extends EventEmitter {
  readonly byId = new Map<string, T>();
  constructor(private readonly table: DocTable<T>) {
    super();
    for (const doc of table.all()) this.byId.set(doc.id, doc);
  }
  put(doc: T): void {
    this.table.put(doc);
    this.byId.set(doc.id, doc);
    this.emit('put', doc);
  }
  delete(id: string): void {
    const doc = this.byId.get(id);
    this.table.delete(id);
    this.byId.delete(id);
    if (doc) this.emit('delete', doc);
  }
  all(): T[] {
    return [...this.byId.values()];
  }
}

export type LookupStyle = 'get' | 'find';

export class Registry {
  readonly networks: Collection<NetworkRecord>;
  readonly containers: Collection<ContainerRecord>;
  readonly endpoints: Collection<EndpointRecord>;

  constructor(readonly db: Db) {
    this.networks = new Collection(new DocTable<NetworkRecord>(db, 'networks'));
    this.containers = new Collection(new DocTable<ContainerRecord>(db, 'containers'));
    this.endpoints = new Collection(new DocTable<EndpointRecord>(db, 'endpoints'));
  }

  /** Runs several writes as one SQLite transaction. */
  atomically<R>(fn: () => R): R {
    return this.db.transaction(fn)();
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
