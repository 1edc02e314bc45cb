import { NamedRegistry } from '../common/named-registry.js';

// The IPAM driver interface, shaped like libnetwork's ipamapi (contract.go): pools are requested
// in an address space and named by an opaque pool ID; addresses are requested from a pool. The
// default driver implements it here; a remote IPAM plugin implements the same calls over its
// socket. What a network needs on top (gateways, aux addresses, which pool an endpoint's address
// comes from, default pools overlapping host routes) is network.ts, the same for every driver.

export const LOCAL_DEFAULT = 'LocalDefault';
export const GLOBAL_DEFAULT = 'GlobalDefault';

/** ipamapi.RequestAddressType with value GatewayAddress: the address asked for is a gateway. */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_ADDRESS = 'com.docker.network.gateway';

/**
 * weft's own request option: the request replays one made before the daemon restarted (the
 * records say it succeeded): no overlap check, and an address already held is granted again.
 */
export const REPLAY = 'weft.ipam.replay';

export interface PoolRequest {
  addressSpace: string;
  /** A CIDR the user asked for; absent: the driver picks one of its default pools. */
  pool?: string;
  /** --ip-range within pool: addresses are handed out from it. */
  subPool?: string;
  options?: Record<string, string>;
  v6: boolean;
}

export interface PoolGrant {
  poolId: string;
  /** The pool's subnet in CIDR form. */
  pool: string;
  meta: Record<string, string>;
}

export interface AddressGrant {
  /** CIDR form: the address with its pool's prefix ("172.18.0.2/16"). */
  address: string;
  meta: Record<string, string>;
}

export interface IpamCapabilities {
  /** The driver wants the endpoint's MAC address with each address request. */
  requiresMacAddress: boolean;
  /** The driver keeps no state across restarts: requests are replayed at start (weft always replays). */
  requiresRequestReplay: boolean;
}

export interface IpamDriver {
  readonly name: string;
  readonly capabilities: IpamCapabilities;
  getDefaultAddressSpaces(): Promise<{ local: string; global: string }>;
  requestPool(req: PoolRequest): Promise<PoolGrant>;
  releasePool(poolId: string): Promise<void>;
  /** preferred: a specific address (plain, no prefix); absent: any free one. */
  requestAddress(poolId: string, preferred?: string, options?: Record<string, string>): Promise<AddressGrant>;
  releaseAddress(poolId: string, address: string): Promise<void>;
}

/** IPAM drivers by name (default, null; remote plugins join at their first use). */
export class IpamRegistry extends NamedRegistry<IpamDriver> {}
