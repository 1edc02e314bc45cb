import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

// All daemon state lives in one SQLite file under --data-root. Records are JSON documents keyed
// by id; the engine keeps an in-memory copy for reads and writes here first (synchronously,
// before touching the kernel) so a crash at any point leaves a record to reconcile from.

export type Db = Database.Database;

export function openDatabase(dataRoot: string): Db {
  mkdirSync(dataRoot, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataRoot, 'weft.db'));
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL keeps every committed transaction across a process crash (only an OS crash can
  // lose the last ones), at a fraction of FULL's fsync cost on the hot path.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** A table of JSON documents with an id primary key. */
export class DocTable<T extends { id: string }> {
  private readonly putStmt;
  private readonly delStmt;
  private readonly allStmt;

  constructor(
    db: Db,
    readonly table: string,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
    this.putStmt = db.prepare(`INSERT INTO ${table} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc`);
    this.delStmt = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    this.allStmt = db.prepare(`SELECT doc FROM ${table}`);
  }

  put(doc: T): void {
    this.putStmt.run(doc.id, JSON.stringify(doc));
  }

  delete(id: string): void {
    this.delStmt.run(id);
  }

  all(): T[] {
    return (this.allStmt.all() as { doc: string }[]).map((row) => JSON.parse(row.doc) as T);
  }
}
