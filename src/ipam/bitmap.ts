// The set of allocated ordinals of one address pool, kept as sorted, merged runs of set bits
// (libnetwork's bitseq is a run-length sequence too). Works unchanged for an IPv4 /8 and an
// IPv6 /64: memory grows with the number of runs, not the size of the pool. Every operation is
// a binary search plus at most one array splice.

export class OrdinalSet {
  private starts: bigint[] = [];
  private ends: bigint[] = []; // inclusive
  private selected = 0n;
  /** Serial allocation cursor (bitseq's `curr`): the ordinal after the last one handed out. */
  private cursor = 0n;

  /** `size` ordinals, 0 .. size-1. */
  constructor(readonly size: bigint) {}

  get unselected(): bigint {
    return this.size - this.selected;
  }

  /** Index of the last run starting at or before o, or -1. */
  private find(o: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= o) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  isSet(o: bigint): boolean {
    const i = this.find(o);
    return i >= 0 && this.ends[i] >= o;
  }

  /** Sets o; false when it was already set. Throws when o is outside the set. */
  set(o: bigint): boolean {
    if (o < 0n || o >= this.size) throw new RangeError(`ordinal ${o} outside 0..${this.size - 1n}`);
    const i = this.find(o);
    if (i >= 0 && this.ends[i] >= o) return false;
    const joinLeft = i >= 0 && this.ends[i] === o - 1n;
    const joinRight = i + 1 < this.starts.length && this.starts[i + 1] === o + 1n;
    if (joinLeft && joinRight) {
      this.ends[i] = this.ends[i + 1];
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinLeft) {
      this.ends[i] = o;
    } else if (joinRight) {
      this.starts[i + 1] = o;
    } else {
      this.starts.splice(i + 1, 0, o);
      this.ends.splice(i + 1, 0, o);
    }
    this.selected++;
    return true;
  }

  /** Clears o; false when it was not set. */
  unset(o: bigint): boolean {
    const i = this.find(o);
    if (i < 0 || this.ends[i] < o) return false;
    const s = this.starts[i];
    const e = this.ends[i];
    if (s === e) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (o === s) {
      this.starts[i] = o + 1n;
    } else if (o === e) {
      this.ends[i] = o - 1n;
    } else {
      this.ends[i] = o - 1n;
      this.starts.splice(i + 1, 0, o + 1n);
      this.ends.splice(i + 1, 0, e);
    }
    this.selected--;
    return true;
  }

  /** Lowest clear ordinal in [from, to], or null. */
  firstClear(from: bigint, to: bigint): bigint | null {
    if (from > to) return null;
    const i = this.find(from);
    const candidate = i >= 0 && this.ends[i] >= from ? this.ends[i] + 1n : from;
    // Runs are merged, so the ordinal right after a run is always clear.
    return candidate <= to ? candidate : null;
  }

  /**
   * Sets and returns a clear ordinal in [start, end] (bitseq's SetAnyInRange): the lowest one,
   * or with serial the first one at or after the cursor, wrapping around. Null when none.
   */
  setAnyInRange(start: bigint, end: bigint, serial: boolean): bigint | null {
    let o: bigint | null;
    if (serial && this.cursor > start && this.cursor <= end) {
      o = this.firstClear(this.cursor, end) ?? this.firstClear(start, this.cursor - 1n);
    } else {
      o = this.firstClear(start, end);
    }
    if (o === null) return null;
    this.set(o);
    this.cursor = o + 1n;
    return o;
  }

  /** Number of runs (for tests and diagnostics). */
  get runs(): number {
    return this.starts.length;
  }
}
