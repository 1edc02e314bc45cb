import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { KV, Store, StoreEvent } from './types.js';

// The local store: one SQLite table per collection (the first segment of the key), rows
// (id, doc, version), and one revision counter for the whole database, so versions are ordered
// across collections as etcd's revisions are. Every call runs synchronously inside better-sqlite3
// and the watchers hear it before the call's promise resolves: a reader that awaited a write sees
// it. Rows written before versions existed get version 1 (revisions start above it).

interface Table {
  one: Statement;
  all: Statement;
  put: Statement;
  del: Statement;
}

const COLLECTION = /^[a-z][a-z0-9_]*$/;

export class SqliteStore implements Store {
  readonly scope = 'local' as const;
  private readonly tables = new Map<string, Table>();
  private readonly watchers = new Set<{ prefix: string; follower: (ev: StoreEvent) => void }>();
  private readonly nextRevision: Statement;

  constructor(readonly db: Db) {
    db.exec('CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    db.exec("INSERT OR IGNORE INTO store_meta (key, value) VALUES ('revision', 1)");
    this.nextRevision = db.prepare("UPDATE store_meta SET value = value + 1 WHERE key = 'revision' RETURNING value");
  }

  async get(key: string): Promise<KV | null> {
    const [table, id] = this.split(key);
    const row = this.table(table).one.get(id) as { doc: string; version: number } | undefined;
    return row ? { key, value: row.doc, version: row.version } : null;
  }

  async list(prefix: string): Promise<KV[]> {
    const slash = prefix.indexOf('/');
    const table = slash < 0 ? prefix : prefix.slice(0, slash);
    const idPrefix = slash < 0 ? '' : prefix.slice(slash + 1);
    const rows = this.table(table).all.all() as { id: string; doc: string; version: number }[];
    return rows.filter((r) => r.id.startsWith(idPrefix)).map((r) => ({ key: `${table}/${r.id}`, value: r.doc, version: r.version }));
  }

  async put(key: string, value: string): Promise<number> {
    const [table, id] = this.split(key);
    const version = this.db.transaction(() => {
      const v = this.revision();
      this.table(table).put.run(id, value, v);
      return v;
    })();
    this.notify({ type: 'put', key, value, version });
    return version;
  }

  async putIf(key: string, value: string, expected: number): Promise<number | null> {
    const [table, id] = this.split(key);
    const t = this.table(table);
    const version = this.db.transaction(() => {
      const row = t.one.get(id) as { version: number } | undefined;
      if ((row?.version ?? 0) !== expected) return null;
      const v = this.revision();
      t.put.run(id, value, v);
      return v;
    })();
    if (version !== null) this.notify({ type: 'put', key, value, version });
    return version;
  }

  async delete(key: string): Promise<void> {
    const [table, id] = this.split(key);
    const version = this.db.transaction(() => (this.table(table).del.run(id).changes ? this.revision() : 0))();
    if (version) this.notify({ type: 'delete', key, value: null, version });
  }

  async deleteIf(key: string, expected: number): Promise<boolean> {
    const [table, id] = this.split(key);
    const t = this.table(table);
    const version = this.db.transaction(() => {
      const row = t.one.get(id) as { version: number } | undefined;
      if (!row || row.version !== expected) return 0;
      t.del.run(id);
      return this.revision();
    })();
    if (version) this.notify({ type: 'delete', key, value: null, version });
    return version !== 0;
  }

  watch(prefix: string, follower: (ev: StoreEvent) => void): () => void {
    const w = { prefix, follower };
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  async close(): Promise<void> {
    this.watchers.clear();
    this.db.close();
  }

  private revision(): number {
    return (this.nextRevision.get() as { value: number }).value;
  }

  private notify(ev: StoreEvent): void {
    for (const w of this.watchers) if (ev.key.startsWith(w.prefix)) w.follower(ev);
  }

  private split(key: string): [string, string] {
    const slash = key.indexOf('/');
    if (slash <= 0 || slash === key.length - 1) throw new Error(`store key must be <collection>/<id>: ${JSON.stringify(key)}`);
    return [key.slice(0, slash), key.slice(slash + 1)];
  }

  private table(name: string): Table {
    const known = this.tables.get(name);
    if (known) return known;
    if (!COLLECTION.test(name)) throw new Error(`invalid store collection ${JSON.stringify(name)}`);
    const { db } = this;
    db.exec(`CREATE TABLE IF NOT EXISTS ${name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1)`);
    const columns = db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === 'version')) db.exec(`ALTER TABLE ${name} ADD COLUMN version INTEGER NOT NULL DEFAULT 1`);
    const t = {
      one: db.prepare(`SELECT doc, version FROM ${name} WHERE id = ?`),
      all: db.prepare(`SELECT id, doc, version FROM ${name}`),
      put: db.prepare(`INSERT INTO ${name} (id, doc, version) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, version = excluded.version`),
      del: db.prepare(`DELETE FROM ${name} WHERE id = ?`),
    };
    this.tables.set(name, t);
    return t;
  }
}
