import { GLOBAL_DEFAULT, LOCAL_DEFAULT, REPLAY, type AddressGrant, type IpamDriver, type PoolGrant, type PoolRequest } from './api.js';
import { IpamErrors } from './errors.js';
import { DOCKER_DEFAULT_POOLS, type PoolSpec } from './pools.js';
import { AddressSpace } from './space.js';
import { SharedSpace, type ClaimStore } from './shared.js';
import { GATEWAY_ADDRESS, REQUEST_ADDRESS_TYPE } from './api.js';

// The default IPAM driver: Docker's, with two address spaces. LocalDefault hands out Docker's
// local default pools (or --default-address-pool); GlobalDefault, for networks shared by a
// cluster, swarm's default pool (10.0.0.0/8 in /24s, `docker swarm init --default-addr-pool`),
// with serial allocation as swarm does. Its state is in memory: the engine replays the stored
// networks' requests at start (REPLAY).

/** Swarm's default address pool (swarmkit allocator/cnmallocator). */
export const SWARM_DEFAULT_POOLS: readonly PoolSpec[] = Object.freeze([{ base: '10.0.0.0/8', size: 24 }]);

export interface DefaultIpamOptions {
  localPools?: readonly PoolSpec[];
  globalPools?: readonly PoolSpec[];
  /**
   * The cluster store's claims while this node is in a cluster: GlobalDefault is then shared by
   * every host (shared.ts). Outside a cluster it is an in-memory space like LocalDefault.
   */
  globalClaims?: () => ClaimStore | undefined;
}

export class DefaultIpam implements IpamDriver {
  readonly name = 'default';
  readonly capabilities = { requiresMacAddress: false, requiresRequestReplay: true };
  private readonly spaces: Map<string, AddressSpace>;
  private shared: { claims: ClaimStore; space: SharedSpace } | null = null;

  constructor(private readonly opts: DefaultIpamOptions = {}) {
    this.spaces = new Map([
      [LOCAL_DEFAULT, new AddressSpace(LOCAL_DEFAULT, opts.localPools ?? DOCKER_DEFAULT_POOLS)],
      [GLOBAL_DEFAULT, new AddressSpace(GLOBAL_DEFAULT, opts.globalPools ?? SWARM_DEFAULT_POOLS, true)],
    ]);
  }

  /** A space's own view (its default pools, held subnets), for the engine and tests. */
  space(name: string): AddressSpace {
    const s = this.spaces.get(name);
    if (!s) throw IpamErrors.unknownAddressSpace(name);
    return s;
  }

  async getDefaultAddressSpaces() {
    return { local: LOCAL_DEFAULT, global: GLOBAL_DEFAULT };
  }

  /** The shared GlobalDefault space, when in a cluster (v4 only: v6 global pools stay in memory). */
  private sharedFor(space: string, v6 = false): SharedSpace | null {
    if (space !== GLOBAL_DEFAULT || v6) return null;
    const claims = this.opts.globalClaims?.();
    if (!claims) return null;
    if (this.shared?.claims !== claims) this.shared = { claims, space: new SharedSpace(GLOBAL_DEFAULT, this.opts.globalPools ?? SWARM_DEFAULT_POOLS, claims) };
    return this.shared.space;
  }

  async requestPool(req: PoolRequest): Promise<PoolGrant> {
    const shared = this.sharedFor(req.addressSpace, req.v6);
    if (shared) return { ...(await shared.requestPool(req.pool, req.subPool, req.options?.[REPLAY] === 'true')), meta: {} };
    const granted = this.space(req.addressSpace).requestPool(req.pool, req.subPool, req.v6, req.options?.[REPLAY] === 'true');
    return { ...granted, meta: {} };
  }

  async releasePool(poolId: string): Promise<void> {
    const shared = this.sharedOf(poolId);
    if (shared) return shared.releasePool(poolId);
    this.spaceOf(poolId).releasePool(poolId);
  }

  async requestAddress(poolId: string, preferred?: string, options?: Record<string, string>): Promise<AddressGrant> {
    const shared = this.sharedOf(poolId);
    if (shared) return { address: await shared.requestAddress(poolId, preferred, options?.[REPLAY] === 'true', options?.[REQUEST_ADDRESS_TYPE] === GATEWAY_ADDRESS), meta: {} };
    return { address: this.spaceOf(poolId).requestAddress(poolId, preferred, options?.[REPLAY] === 'true'), meta: {} };
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    const shared = this.sharedOf(poolId);
    if (shared) return shared.releaseAddress(poolId, address);
    this.spaceOf(poolId).releaseAddress(poolId, address);
  }

  /** Shared pool IDs are GlobalDefault IPv4 ones made while in a cluster. */
  private sharedOf(poolId: string): SharedSpace | null {
    return poolId.startsWith(`${GLOBAL_DEFAULT}/`) && !poolId.includes(':') ? this.sharedFor(GLOBAL_DEFAULT) : null;
  }

  private spaceOf(poolId: string): AddressSpace {
    const s = this.spaces.get(poolId.split('/')[0]);
    if (!s) throw IpamErrors.unknownPool(poolId);
    return s;
  }
}
