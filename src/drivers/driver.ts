import { NamedRegistry } from '../common/named-registry.js';
import type { EndpointRecord, NetworkRecord } from '../common/model.js';

/** What a firewall reload put back. */
export interface FirewallCounts {
  networks: number;
  ports: number;
}

// The one interface every network driver implements (libnetwork's driverapi, trimmed).
// The engine owns records and IPAM; a driver only turns records into kernel state.
// Every method must be idempotent: the engine calls them again when reconciling after a crash.
// The engine never tests a driver's name: what differs between drivers is said by capabilities.

export interface DriverCapabilities {
  /** local: this host only; global: shared by every host of a cluster (records in the cluster store). */
  scope: 'local' | 'global';
  /** Networks get pools, endpoints addresses from IPAM (host and none have neither). */
  ipam: boolean;
  /** At most one network of this driver exists: the predefined one (host, none). */
  singleton: boolean;
  /** Published ports (-p) are programmed on this driver's endpoints. */
  publishesPorts: boolean;
  /**
   * How the embedded DNS serves its (user-defined) networks: 'listener' on the gateway address
   * plus the containers' names; 'names' only (the gateway is not the host's, e.g. macvlan's
   * router: containers also on a 'listener' network still resolve them); 'none'.
   */
  dns: 'listener' | 'names' | 'none';
  /**
   * The container side: 'interface' (an interface in the container's own namespace, with its
   * addresses, routes and MAC), 'host' (the container shares the daemon's namespace), 'isolated'
   * (its own namespace with loopback only).
   */
  sandbox: 'interface' | 'host' | 'isolated';
  /**
   * How the container reaches outside its networks: 'gateway' (the network's gateway is this
   * host's, e.g. a bridge; absent means this), or 'gwbridge' (the network has no way out of its
   * own, e.g. an overlay: the engine connects the sandbox to docker_gwbridge, as Docker does).
   */
  wayOut?: 'gateway' | 'gwbridge';
}

export interface JoinOptions {
  /** Whether this endpoint provides the sandbox's default gateway. */
  defaultRoute: boolean;
  /** The container's name (drivers that publish their endpoints to other hosts name them). */
  containerName?: string;
}

/** Endpoint settings a driver chose at join. */
export type EndpointUpdate = Partial<Pick<EndpointRecord, 'ipv4' | 'ipv6' | 'mac' | 'gateway4' | 'gateway6'>>;

export interface NetworkDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /**
   * Validates user options for a new network and returns the driver-private state to store
   * with it (e.g. {bridgeName, mtu}). Throws WeftError('InvalidParameter', ...) with Docker's text.
   * Called before anything is written to the store or the kernel.
   */
  prepareNetwork(net: NetworkRecord, existing: NetworkRecord[]): Promise<Record<string, string>>;

  /** Creates the kernel objects of a network (bridge, nft elements...). */
  createNetwork(net: NetworkRecord): Promise<void>;

  /** Removes them; keeps going past failures and reports them together. */
  deleteNetwork(net: NetworkRecord): Promise<void>;

  /**
   * Attaches an endpoint to a sandbox (the container's netns at netnsPath). defaultRoute says
   * whether this endpoint provides the sandbox's default gateway (the engine decides: the first
   * non-internal network joined, as Docker does). A driver that chose some of the endpoint's
   * settings itself (a plugin's address with the null IPAM, its gateway) returns them; the
   * engine records them.
   */
  join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: JoinOptions): Promise<void | EndpointUpdate>;

  /** Refuses the removal of a network still in use elsewhere (global drivers: on other hosts). */
  checkRemove?(net: NetworkRecord): Promise<void>;

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

/** Network drivers by name; plugins join at their first use. */
export class DriverRegistry extends NamedRegistry<NetworkDriver> {}
