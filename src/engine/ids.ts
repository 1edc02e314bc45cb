import { randomBytes } from 'node:crypto';

/** A 64-hex-digit identifier, like Docker's network, endpoint and container IDs. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}
