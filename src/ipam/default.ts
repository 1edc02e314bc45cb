import { GLOBAL_DEFAULT, LOCAL_DEFAULT, REPLAY, type AddressGrant, type IpamDriver, type PoolGrant, type PoolRequest } from './api.js';
import { IpamErrors } from './errors.js';
import { DOCKER_DEFAULT_POOLS, type PoolSpec } from './pools.js';
import { AddressSpace } from './space.js';

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
}

export class DefaultIpam implements IpamDriver {
  readonly name = 'default';
  readonly capabilities = { requiresMacAddress: false, requiresRequestReplay: true };
  private readonly spaces: Map<string, AddressSpace>;

  constructor(opts: DefaultIpamOptions = {}) {
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

  async requestPool(req: PoolRequest): Promise<PoolGrant> {
    const granted = this.space(req.addressSpace).requestPool(req.pool, req.subPool, req.v6, req.options?.[REPLAY] === 'true');
    return { ...granted, meta: {} };
  }

  async releasePool(poolId: string): Promise<void> {
    this.spaceOf(poolId).releasePool(poolId);
  }

  async requestAddress(poolId: string, preferred?: string, options?: Record<string, string>): Promise<AddressGrant> {
    return { address: this.spaceOf(poolId).requestAddress(poolId, preferred, options?.[REPLAY] === 'true'), meta: {} };
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    this.spaceOf(poolId).releaseAddress(poolId, address);
  }

  private spaceOf(poolId: string): AddressSpace {
    const s = this.spaces.get(poolId.split('/')[0]);
    if (!s) throw IpamErrors.unknownPool(poolId);
    return s;
  }
}
