import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

// All daemon state lives in one SQLite file under --data-root: the records (sqlite.ts, written
// before the kernel is touched so a crash at any point leaves a record to reconcile from) and the
// image store's tables.

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
