import { randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KiB at a time: one call per ID cost ~15 µs of a network create.
const pool = Buffer.alloc(4096);
let used = pool.length;

/** A 64-hex-digit identifier, like Docker's network, endpoint and container IDs. */
export function newId(): string {
  if (used + 32 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 32;
  return pool.toString('hex', used - 32, used);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}
