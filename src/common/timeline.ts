// Milliseconds spent in each named step of one operation, for debug logs: `weftd -l debug` shows
// where a container start or removal goes (bench/profile.ts aggregates them). Costs two
// performance.now() calls per step.

export class Timeline {
  private readonly began = performance.now();
  private last = this.began;
  readonly steps: Record<string, number> = {};

  /** Ends the step under way: the time since the previous mark (or the start) goes to `step`. */
  mark(step: string): void {
    const now = performance.now();
    this.steps[step] = (this.steps[step] ?? 0) + round(now - this.last);
    this.last = now;
  }

  /** Adds sub-steps measured elsewhere (e.g. the runtime's own), prefixed, without moving the clock. */
  add(prefix: string, steps: Record<string, number> | null | undefined): void {
    for (const [k, v] of Object.entries(steps ?? {})) if (k !== 'total') this.steps[`${prefix}.${k}`] = round(v);
  }

  done(): Record<string, number> {
    return { ...this.steps, total: round(performance.now() - this.began) };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
