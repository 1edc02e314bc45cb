import type { EndpointRecord, NetworkRecord } from '../common/model.js';

/** What a firewall reload put back. */
export interface FirewallCounts {
  networks: number;
  ports: number;
}

// The one interface every network driver implements (libnetwork's driverapi, trimmed).
// The engine owns records and IPAM; a driver only turns records into kernel state.
// Every method must be idempotent: the engine calls them again when reconciling after a crash.
export interface NetworkDriver {
  readonly name: string;

  /**
   * Validates user options for a new network and returns the driver-private state to store
   * with it (e.g. {bridgeName, mtu}). Throws WeftError('InvalidParameter', ...) with Docker's text.
   * Called before anything is written to the store or the kernel.
   */
  prepareNetwork(net: NetworkRecord, existing: NetworkRecord[]): Record<string, string>;

  /** Creates the kernel objects of a network (bridge, nft elements...). */
  createNetwork(net: NetworkRecord): Promise<void>;

  /** Removes them; keeps going past failures and reports them together. */
  deleteNetwork(net: NetworkRecord): Promise<void>;

  /**
   * Attaches an endpoint to a sandbox (the container's netns at netnsPath). defaultRoute says
   * whether this endpoint provides the sandbox's default gateway (the engine decides: the first
   * non-internal network joined, as Docker does).
   */
  join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void>;

  /** Detaches it; must succeed when the netns is already gone. */
  leave(net: NetworkRecord, ep: EndpointRecord, netnsPath: string | null): Promise<void>;

  /**
   * Called once at daemon start with every stored network of this driver and their live
   * endpoints: re-create what is missing, remove what is orphaned.
   */
  restore(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void>;

  /**
   * Puts the driver's firewall state back from the records, in one atomic batch, after something
   * else flushed or rewrote the ruleset (same inputs as restore; nothing else is touched).
   * Drivers that keep no firewall state leave it out.
   */
  reloadFirewall?(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<FirewallCounts>;

  /** Drivers that create a network's kernel objects lazily (at its first join) report when they did. */
  onRealized?(listener: (net: NetworkRecord) => void): void;

  /** Such drivers also say whether a network's kernel objects exist yet (absent: always). */
  isRealized?(netId: string): boolean;
}
