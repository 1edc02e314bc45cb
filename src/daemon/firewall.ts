import type { Logger } from '../common/log.js';
import type { FirewallCounts } from '../drivers/driver.js';

// Keeps weft's nftables table in place: the firewall watch (src/kernel/firewall-watch.ts) reports
// foreign changes, and this replays the table from the engine's records. Reports that arrive
// while a reload runs are folded into one more reload after it. A loop guard: were something to
// undo every reload at once (another daemon fighting over the table), reloads slow down to one
// every few seconds instead of spinning.

const BURST = 10;
const BURST_WINDOW_MS = 10_000;
const SLOW_DELAY_MS = 5_000;
const RETRY_MS = 1_000;

export interface FirewallKeeperOptions {
  reload(): Promise<FirewallCounts>;
  log: Logger;
}

export class FirewallKeeper {
  private ready = false;
  private running = false;
  private pending: string[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly recent: number[] = [];
  private stopped = false;
  /** Completed reloads (for tests and logs). */
  reloads = 0;

  constructor(private readonly opts: FirewallKeeperOptions) {}

  /** The engine has started: reports can be acted on (those that came earlier are run now). */
  start(): void {
    this.ready = true;
    if (this.pending) this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** A foreign change (its nft monitor lines): reload soon. */
  disrupted(events: string[]): void {
    if (this.stopped) return;
    this.pending = [...(this.pending ?? []), ...events].slice(0, 20);
    if (this.ready) this.kick();
  }

  private kick(): void {
    if (this.running || this.timer) return;
    const now = Date.now();
    while (this.recent.length && now - this.recent[0] > BURST_WINDOW_MS) this.recent.shift();
    if (this.recent.length >= BURST) {
      this.opts.log.warn({ reloads: this.recent.length, windowMs: BURST_WINDOW_MS }, 'nftables table keeps being changed by something else; slowing down its restores');
      this.later(SLOW_DELAY_MS);
      return;
    }
    void this.run();
  }

  private later(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    if (this.stopped || !this.pending) return;
    const events = this.pending;
    this.pending = null;
    this.running = true;
    this.recent.push(Date.now());
    const t0 = performance.now();
    try {
      const counts = await this.opts.reload();
      this.reloads++;
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      this.opts.log.info({ ...counts, ms, trigger: events.slice(0, 5) }, 'nftables table changed by something else; restored');
    } catch (err) {
      this.opts.log.error({ err: String(err), trigger: events.slice(0, 5) }, 'nftables table restore failed; retrying');
      this.pending ??= events;
      this.running = false;
      this.later(RETRY_MS);
      return;
    } finally {
      this.running = false;
    }
    if (this.pending) this.kick();
  }
}
