import type { AddressGrant, IpamDriver, PoolGrant, PoolRequest } from './api.js';
import { IpamErrors } from './errors.js';

// libnetwork's null IPAM driver (ipams/null): one catch-all pool per family and no addresses, for
// drivers that address their endpoints themselves. A bridge refuses it (its pool is empty).

export const NULL_POOL_V4 = '0.0.0.0/0';
const NULL_POOL_V6 = '::/0';

export class NullIpam implements IpamDriver {
  readonly name = 'null';
  readonly capabilities = { requiresMacAddress: false, requiresRequestReplay: false };

  async getDefaultAddressSpaces() {
    return { local: 'null', global: 'null' };
  }

  async requestPool(req: PoolRequest): Promise<PoolGrant> {
    if (req.pool || req.subPool) throw IpamErrors.nullPoolRequest();
    const pool = req.v6 ? NULL_POOL_V6 : NULL_POOL_V4;
    return { poolId: `null/${pool}`, pool, meta: {} };
  }

  async releasePool(): Promise<void> {}

  async requestAddress(): Promise<AddressGrant> {
    return { address: '', meta: {} };
  }

  async releaseAddress(): Promise<void> {}
}
