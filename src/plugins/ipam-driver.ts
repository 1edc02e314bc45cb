import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { REPLAY, type AddressGrant, type IpamCapabilities, type IpamDriver, type PoolGrant, type PoolRequest } from '../ipam/api.js';
import { systemError } from '../common/errors.js';
import type { Plugin } from './plugin.js';

// An IPAM plugin as one more IpamDriver (libnetwork's ipams/remote): the calls map one to one.
// The engine replays the pools and addresses of stored networks at start (weft.ipam.replay); a
// plugin that keeps its own state (RequiresRequestReplay false, dockerd's default) must not be
// asked twice, so the pool IDs it granted are kept in a file under the data root, and a replay
// answers from there without a call. Replays to plugins that ask for them are sent, without
// weft's own option.

export function parseIpamCapabilities(res: Record<string, unknown> | null): IpamCapabilities {
  return { requiresMacAddress: res?.RequiresMACAddress === true, requiresRequestReplay: res?.RequiresRequestReplay === true };
}

interface KeptPool {
  poolId: string;
  pool: string;
  meta: Record<string, string>;
}

export interface RemoteIpamOptions {
  plugin: Plugin;
  capabilities: IpamCapabilities;
  /** File holding the pool IDs granted, by request. */
  stateFile: string;
}

const requestKey = (r: PoolRequest) => JSON.stringify([r.addressSpace, r.pool ?? '', r.subPool ?? '', r.v6]);

function withoutReplay(options: Record<string, string> | undefined): Record<string, string> {
  const { [REPLAY]: _omit, ...rest } = options ?? {};
  return rest;
}

export class RemoteIpam implements IpamDriver {
  readonly name: string;
  readonly capabilities: IpamCapabilities;
  private readonly plugin: Plugin;
  private spaces: { local: string; global: string } | null = null;
  private readonly kept: Map<string, KeptPool>;

  constructor(private readonly opts: RemoteIpamOptions) {
    this.plugin = opts.plugin;
    this.name = opts.plugin.name;
    this.capabilities = opts.capabilities;
    this.kept = new Map(Object.entries(readState(opts.stateFile)));
  }

  async getDefaultAddressSpaces(): Promise<{ local: string; global: string }> {
    if (this.spaces) return this.spaces;
    const res = await this.plugin.call('IpamDriver', 'GetDefaultAddressSpaces', {});
    this.spaces = { local: String(res.LocalDefaultAddressSpace ?? ''), global: String(res.GlobalDefaultAddressSpace ?? '') };
    return this.spaces;
  }

  async requestPool(req: PoolRequest): Promise<PoolGrant> {
    const replay = req.options?.[REPLAY] === 'true';
    const key = requestKey(req);
    const kept = this.kept.get(key);
    if (replay && kept && !this.capabilities.requiresRequestReplay) return { ...kept };
    const res = await this.plugin.call('IpamDriver', 'RequestPool', { AddressSpace: req.addressSpace, Pool: req.pool ?? '', SubPool: req.subPool ?? '', Options: withoutReplay(req.options), V6: req.v6 });
    const poolId = typeof res.PoolID === 'string' ? res.PoolID : '';
    const pool = typeof res.Pool === 'string' ? res.Pool : '';
    if (!poolId || !pool) throw systemError(`remote: RequestPool answered no PoolID or Pool`);
    const grant: KeptPool = { poolId, pool, meta: stringMap(res.Data) };
    // A replay asks for the subnet that was granted (a default pool too): kept under that.
    this.remember(requestKey({ ...req, pool: pool }), grant);
    return grant;
  }

  async releasePool(poolId: string): Promise<void> {
    for (const [k, v] of this.kept) if (v.poolId === poolId) this.kept.delete(k);
    this.save();
    await this.plugin.cleanup('IpamDriver', 'ReleasePool', { PoolID: poolId });
  }

  async requestAddress(poolId: string, preferred?: string, options?: Record<string, string>): Promise<AddressGrant> {
    if (options?.[REPLAY] === 'true' && !this.capabilities.requiresRequestReplay && preferred) {
      return { address: preferred, meta: {} }; // the plugin still holds it
    }
    const res = await this.plugin.call('IpamDriver', 'RequestAddress', { PoolID: poolId, Address: preferred ?? '', Options: withoutReplay(options) });
    const address = typeof res.Address === 'string' ? res.Address : '';
    if (!address) throw systemError('remote: RequestAddress answered no Address');
    return { address, meta: stringMap(res.Data) };
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    await this.plugin.cleanup('IpamDriver', 'ReleaseAddress', { PoolID: poolId, Address: address });
  }

  private remember(key: string, grant: KeptPool): void {
    this.kept.set(key, grant);
    this.save();
  }

  private save(): void {
    mkdirSync(dirname(this.opts.stateFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.opts.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.kept)), { mode: 0o600 });
    renameSync(tmp, this.opts.stateFile);
  }
}

function readState(file: string): Record<string, KeptPool> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, KeptPool>;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function stringMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object') return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}
