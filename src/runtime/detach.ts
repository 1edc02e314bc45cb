// Docker's detach keys: a sequence like "ctrl-p,ctrl-q" typed on stdin ends the attach session
// without stopping the container. Bytes that could start the sequence are held back; if the
// sequence breaks they are passed on, if it completes they are dropped.
import { invalid } from '../common/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Parses Docker's detach-keys syntax: comma-separated single characters or ctrl-<x> (a-z, @, [, \\, ], ^, _). */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim().toLowerCase();
    if (k.length === 1) {
      out.push(key.trim().charCodeAt(0));
    } else if (k.startsWith('ctrl-') && k.length === 6) {
      const c = k[5];
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c === '@') out.push(0);
      else if ('[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw invalid(`Invalid detach keys (${spec}) provided`);
    } else {
      throw invalid(`Invalid detach keys (${spec}) provided`);
    }
  }
  if (out.length === 0) throw invalid(`Invalid detach keys (${spec}) provided`);
  return Buffer.from(out);
}

export class DetachScanner {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to forward and whether the detach sequence was completed (bytes after it are dropped). */
  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detached: true };
        }
        continue;
      }
      // Sequence broken: release what was held back, then re-check this byte as a new start.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]);
      this.matched = 0;
      if (b === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return { forward: Buffer.from(out), detached: true };
      } else {
        out.push(b);
      }
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
