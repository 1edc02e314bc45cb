import type { Etcd3, Watcher } from 'etcd3';
import type { KV, Store, StoreEvent } from './types.js';

// Global-scope records (overlay networks) in etcd, behind the same Store interface as SQLite:
// keys live under `prefix` (e.g. /weft/net/), a key's version is its etcd mod revision, and
// compare-and-set is an etcd transaction on that revision. Watches are etcd watches, so every
// host's in-memory view follows the writes of every other host.

export class EtcdStore implements Store {
  readonly scope = 'global' as const;
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly etcd: Etcd3,
    readonly prefix: string,
  ) {}

  async get(key: string): Promise<KV | null> {
    const res = await this.etcd.get(this.prefix + key).exec();
    const kv = res.kvs[0];
    return kv ? { key, value: kv.value.toString(), version: Number(kv.mod_revision) } : null;
  }

  async list(prefix: string): Promise<KV[]> {
    return (await this.listAt(prefix)).kvs;
  }

  /** list() with the store revision it was read at: a watch from the next one misses nothing. */
  async listAt(prefix: string): Promise<{ kvs: KV[]; revision: number }> {
    const res = await this.etcd.getAll().prefix(this.prefix + prefix).exec();
    const kvs = res.kvs.map((kv) => ({ key: kv.key.toString().slice(this.prefix.length), value: kv.value.toString(), version: Number(kv.mod_revision) }));
    return { kvs, revision: Number(res.header.revision) };
  }

  async put(key: string, value: string): Promise<number> {
    const res = await this.etcd.put(this.prefix + key).value(value).exec();
    return Number(res.header.revision);
  }

  async putIf(key: string, value: string, version: number): Promise<number | null> {
    const full = this.prefix + key;
    const cmp = version === 0 ? this.etcd.if(full, 'Create', '==', 0) : this.etcd.if(full, 'Mod', '==', version);
    const res = await cmp.then(this.etcd.put(full).value(value)).commit();
    return res.succeeded ? Number(res.header.revision) : null;
  }

  async delete(key: string): Promise<void> {
    await this.etcd.delete().key(this.prefix + key).exec();
  }

  async deleteIf(key: string, version: number): Promise<boolean> {
    const full = this.prefix + key;
    const res = await this.etcd.if(full, 'Mod', '==', version).then(this.etcd.delete().key(full)).commit();
    return res.succeeded;
  }

  /** From now on, or from `startRevision` on (after a listAt: its revision + 1). */
  watch(prefix: string, follower: (ev: StoreEvent) => void, startRevision?: number): () => void {
    let watcher: Watcher | null = null;
    let stopped = false;
    const toEvent = (type: 'put' | 'delete', kv: { key: Buffer; value: Buffer; mod_revision: string }): StoreEvent => ({
      type,
      key: kv.key.toString().slice(this.prefix.length),
      value: type === 'put' ? kv.value.toString() : null,
      version: Number(kv.mod_revision),
    });
    const builder = this.etcd.watch().prefix(this.prefix + prefix);
    if (startRevision) builder.startRevision(String(startRevision));
    void builder
      .create()
      .then((w) => {
        if (stopped) return void w.cancel().catch(() => undefined);
        watcher = w;
        this.watchers.add(w);
        w.on('put', (kv) => follower(toEvent('put', kv)));
        w.on('delete', (kv) => follower(toEvent('delete', kv)));
        w.on('error', () => undefined); // the client reconnects the watch itself
      }, () => undefined);
    return () => {
      stopped = true;
      if (watcher) {
        this.watchers.delete(watcher);
        void watcher.cancel().catch(() => undefined);
      }
    };
  }

  /** Ends this store's watches; the etcd client is the cluster's and stays open. */
  async close(): Promise<void> {
    await Promise.all([...this.watchers].map((w) => w.cancel().catch(() => undefined)));
    this.watchers.clear();
  }
}
