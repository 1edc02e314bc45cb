// The engine's store, shaped like the key-value stores libnetwork and Flannel keep their state in
// (libkv, etcd): string keys "<collection>/<id>", JSON string values, a version per key (etcd's
// mod revision) for compare-and-set, and watches. Local-scope records live in SQLite
// (sqlite.ts); global-scope ones (overlay networks and their endpoints) will live in etcd behind
// the same interface.

export interface KV {
  key: string;
  value: string;
  /** Revision of the key's last change: larger is newer, never 0 for a stored key. */
  version: number;
}

export interface StoreEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value (put) or null (delete). */
  value: string | null;
  version: number;
}

export interface Store {
  readonly scope: 'local' | 'global';
  get(key: string): Promise<KV | null>;
  /** Every key under prefix ("networks/"). */
  list(prefix: string): Promise<KV[]>;
  /** Writes; resolves with the new version. */
  put(key: string, value: string): Promise<number>;
  /** Writes only if the key's version is still `version` (0: only if absent); null when it was not. */
  putIf(key: string, value: string, version: number): Promise<number | null>;
  delete(key: string): Promise<void>;
  /** Deletes only if the key's version is still `version`; false when it was not. */
  deleteIf(key: string, version: number): Promise<boolean>;
  /** Changes under prefix from now on, in the order they were made; returns the unsubscribe function. */
  watch(prefix: string, follower: (ev: StoreEvent) => void): () => void;
  close(): Promise<void>;
}
