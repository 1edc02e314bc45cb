import type { Logger } from '../common/log.js';
import { forbidden, systemError, WeftError } from '../common/errors.js';
import { PluginClient, PluginCallError } from './client.js';
import { PluginDiscovery, PluginTrustError, type PluginAddress } from './discovery.js';

// Activated plugins (dockerd's pkg/plugins Plugin): found on disk at the first use of a name,
// handshaken with Plugin.Activate, kept for the daemon's life. Calls go through the plugin's
// client; answers with Err become "remote: <Err>", as libnetwork reports them.
//
// Cleanup calls (DeleteEndpoint, Leave, DeleteNetwork, ReleaseAddress, ReleasePool) that find
// the plugin down are kept and sent again once it answers (checked every few seconds): weft's
// records are gone already, so a plugin that crashed mid-operation and comes back is told to
// drop what it still holds, and is left holding nothing.

export type PluginInterface = 'NetworkDriver' | 'IpamDriver';

/** Calls kept for a plugin that is down, at most (a plugin that never returns must not grow the daemon). */
const MAX_PENDING = 10_000;

interface Pending {
  method: string;
  body: unknown;
}

export class Plugin {
  readonly client: PluginClient;
  private readonly pending: Pending[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay = 1000;

  constructor(
    readonly address: PluginAddress,
    readonly implementsList: string[],
    client: PluginClient,
    private readonly log: Logger,
  ) {
    this.client = client;
  }

  get name(): string {
    return this.address.name;
  }

  /** Calls <iface>.<method>; an answer's Err becomes Error "remote: <Err>". */
  async call<T extends Record<string, unknown>>(iface: PluginInterface, method: string, body: unknown): Promise<T> {
    const res = await this.client.call<T>(`${iface}.${method}`, body);
    if (typeof res?.Err === 'string' && res.Err) throw systemError(`remote: ${res.Err}`);
    if (this.pending.length) this.scheduleRetry(0);
    return res;
  }

  /**
   * A cleanup call: sent now; if the plugin is unreachable, kept and sent again when it answers
   * (resolves then). An answered error is thrown (the caller logs it: teardown goes on).
   */
  async cleanup(iface: PluginInterface, method: string, body: unknown): Promise<void> {
    try {
      await this.call(iface, method, body);
    } catch (err) {
      if (!(err instanceof PluginCallError && err.unreachable)) throw err;
      if (this.pending.length >= MAX_PENDING) this.log.error({ plugin: this.name, dropped: this.pending.shift()?.method }, 'too many calls kept for a plugin that is down: the oldest is dropped');
      this.pending.push({ method: `${iface}.${method}`, body });
      this.log.warn({ plugin: this.name, method, err: err.message }, 'plugin unreachable: the call is kept and sent again when it answers');
      this.scheduleRetry(this.retryDelay);
    }
  }

  /** Calls kept for a plugin that was down (for tests and diagnostics). */
  pendingCalls(): string[] {
    return this.pending.map((p) => p.method);
  }

  private scheduleRetry(delay: number): void {
    if (this.retryTimer) {
      if (delay > 0) return;
      clearTimeout(this.retryTimer);
    }
    this.retryTimer = setTimeout(() => void this.flush(), delay);
    this.retryTimer.unref();
  }

  private async flush(): Promise<void> {
    this.retryTimer = null;
    while (this.pending.length) {
      const head = this.pending[0]!;
      try {
        const res = await this.client.call<Record<string, unknown>>(head.method, head.body);
        if (typeof res?.Err === 'string' && res.Err) this.log.info({ plugin: this.name, method: head.method, err: res.Err }, 'kept plugin call answered with an error (already done?)');
      } catch (err) {
        if (err instanceof PluginCallError && err.unreachable) {
          this.retryDelay = Math.min(this.retryDelay * 2, 8000);
          this.scheduleRetry(this.retryDelay);
          return;
        }
        this.log.info({ plugin: this.name, method: head.method, err: String(err) }, 'kept plugin call refused (already done?)');
      }
      this.pending.shift();
    }
    this.retryDelay = 1000;
    this.log.info({ plugin: this.name }, 'plugin back: kept calls delivered');
  }

  /** Answers an optional method's 404 with null (libnetwork: "not mandatory yet"). */
  async optional<T extends Record<string, unknown>>(iface: PluginInterface, method: string, body: unknown): Promise<T | null> {
    try {
      return await this.call<T>(iface, method, body);
    } catch (err) {
      if (err instanceof PluginCallError && err.notFound) return null;
      throw err;
    }
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

export interface PluginManagerOptions {
  discovery: PluginDiscovery;
  timeoutMs: number;
  log: Logger;
}

export class PluginManager {
  private readonly active = new Map<string, Plugin>();
  private readonly activating = new Map<string, Promise<Plugin | null>>();

  constructor(private readonly opts: PluginManagerOptions) {}

  /**
   * The plugin of that name implementing iface, activated if needed; null when no directory has
   * one. Throws Docker's errors for an untrusted plugin, a failed handshake, or one that does not
   * implement iface.
   */
  async get(name: string, iface: PluginInterface): Promise<Plugin | null> {
    let p = this.active.get(name) ?? null;
    if (!p) {
      let busy = this.activating.get(name);
      if (!busy) {
        busy = this.activate(name).finally(() => this.activating.delete(name));
        this.activating.set(name, busy);
      }
      p = await busy;
    }
    if (!p) return null;
    if (!p.implementsList.includes(iface)) throw systemError('Plugin does not implement the requested driver');
    return p;
  }

  all(): Plugin[] {
    return [...this.active.values()];
  }

  stop(): void {
    for (const p of this.active.values()) p.stop();
  }

  private async activate(name: string): Promise<Plugin | null> {
    let address: PluginAddress | null;
    try {
      address = this.opts.discovery.find(name);
    } catch (err) {
      if (err instanceof PluginTrustError) throw forbidden(`plugin "${name}" is not trusted: ${err.message}`);
      throw systemError(`plugin "${name}": ${(err as Error).message}`);
    }
    if (!address) return null;
    let client: PluginClient;
    try {
      client = new PluginClient(address.addr, { timeoutMs: this.opts.timeoutMs });
    } catch (err) {
      throw systemError(`plugin "${name}": ${(err as Error).message}`);
    }
    let res: { Implements?: unknown };
    try {
      res = await client.call('Plugin.Activate', null);
    } catch (err) {
      throw err instanceof WeftError ? err : systemError((err as Error).message);
    }
    const list = Array.isArray(res?.Implements) ? res.Implements.filter((x): x is string => typeof x === 'string') : [];
    const plugin = new Plugin(address, list, client, this.opts.log.child({ plugin: name }));
    this.active.set(name, plugin);
    this.opts.log.info({ plugin: name, addr: address.addr, implements: list }, 'plugin activated');
    return plugin;
  }
}

