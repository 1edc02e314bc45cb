import type { Logger } from '../common/log.js';
import type { DriverCapabilities, DriverRegistry, NetworkDriver } from '../drivers/driver.js';
import type { DnsService } from '../dns/server.js';
import type { IpamDriver, IpamRegistry, NetworkAddressing } from '../ipam/index.js';
import { conflict, forbidden, invalid, notFound } from '../common/errors.js';
import { checkFilterKeys, matchLabels, type Filters, pruneMatcher } from './filters.js';
import { newId } from '../common/ids.js';
import type { IpamPoolConfig, NetworkRecord } from '../common/model.js';
import type { Registry } from './registry.js';
import type { Serial } from './lock.js';
import type { EventBus } from './events/index.js';
import { nowRfc3339Nano } from '../common/time.js';
import { faultPoint } from '../common/faults.js';

export interface NetworkCreateRequest {
  Name: string;
  /** Refuse an existing name (409). Off, a second network of the same name is made (API < 1.44). */
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: IpamPoolConfig[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  Scope?: string;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
}

export interface NetworkDeps {
  registry: Registry;
  ipam: NetworkAddressing;
  ipamDrivers: IpamRegistry;
  drivers: DriverRegistry;
  serial: Serial;
  hostRoutes: () => string[];
  events: EventBus;
  log: Logger;
}

const PREDEFINED_NAMES = new Set(['bridge', 'host', 'none', 'default']);

/** A network's drivers, looked up before the engine's lock (value, or what the lookup threw). */
interface Prefetched {
  driver: { value: NetworkDriver | null } | { error: unknown };
  ipam: { value: IpamDriver } | { error: unknown };
}

const UNKNOWN_DRIVER: DriverCapabilities = { scope: 'local', ipam: true, singleton: false, publishesPorts: false, dns: 'names', sandbox: 'interface' };


export class NetworkService {
  constructor(private readonly deps: NetworkDeps) {
    // Drivers that create a network's kernel objects lazily (bridge: at its first join) say when
    // they did; the embedded DNS binds on the gateway address then.
    deps.drivers.onRegister((d) => {
      d.onRealized?.((net) => deps.events.emit({ type: 'network', action: 'realized', network: net }));
      // A driver registered after its networks were loaded (a plugin that came up late): what
      // they can do (the embedded DNS's service) is the driver's now, no longer the guess.
      for (const net of deps.registry.networks.all()) if (net.driver === d.name) deps.events.emit({ type: 'network', action: 'update', network: net });
    });
  }

  /** Whether the network's kernel objects exist (lazy drivers make them at the first join). */
  isRealized(net: NetworkRecord): boolean {
    return this.deps.drivers.get(net.driver)?.isRealized?.(net.id) ?? true;
  }

  /** The network's driver, activated if it is a plugin not used since the daemon started. */
  async driverOf(net: NetworkRecord): Promise<NetworkDriver> {
    const driver = await this.deps.drivers.resolve(net.driver);
    if (!driver) throw notFound(`plugin "${net.driver}" not found`);
    return driver;
  }

  /**
   * What the network's driver can do; a driver not active (a plugin whose daemon is gone) is
   * taken to plumb an interface and do nothing else.
   */
  capabilities(net: NetworkRecord): DriverCapabilities {
    return this.deps.drivers.get(net.driver)?.capabilities ?? UNKNOWN_DRIVER;
  }

  /** The IPAM driver of that name, activated if it is a plugin. */
  async ipamDriver(name: string): Promise<IpamDriver> {
    const found = await this.deps.ipamDrivers.resolve(name);
    if (!found) throw notFound(`plugin "${name}" not found`);
    return found;
  }

  /** The address space a network's pools come from: the driver's global one for cluster-wide networks. */
  async addressSpace(net: NetworkRecord, driver: IpamDriver): Promise<string> {
    const spaces = await driver.getDefaultAddressSpaces();
    return this.capabilities(net).scope === 'global' ? spaces.global : spaces.local;
  }

  /**
   * The pools of a network being made (or remade: the default bridge after a settings change):
   * a default pool that overlaps another network's subnet or a host route is skipped.
   */
  async allocatePools(net: NetworkRecord, driver: IpamDriver, requested: IpamPoolConfig[]): Promise<IpamPoolConfig[]> {
    const { registry, ipam } = this.deps;
    const taken = registry.networks.all().filter((n) => n.id !== net.id && !ipam.has(n.id)).flatMap((n) => n.ipam.config.map((c) => c.Subnet));
    return ipam.requestPools({
      netId: net.id,
      name: net.name,
      driver,
      addressSpace: await this.addressSpace(net, driver),
      config: requested,
      enableIPv6: net.enableIPv6,
      options: net.ipam.options,
      taken,
      routes: this.deps.hostRoutes(),
    });
  }

  /** Forgets a global network another host removed (its claims were released there). */
  forgetPools(netId: string): void {
    this.deps.ipam.forget(netId);
  }

  /** Replays a stored network's pools (daemon start). */
  async restorePools(net: NetworkRecord): Promise<void> {
    if (!net.ipam.config.length) return;
    const driver = await this.ipamDriver(net.ipam.driver || 'default');
    await this.deps.ipam.restorePools({
      netId: net.id,
      name: net.name,
      driver,
      addressSpace: await this.addressSpace(net, driver),
      config: net.ipam.config,
      enableIPv6: net.enableIPv6,
      options: net.ipam.options,
      userConfigured: { v4: net.userSubnets, v6: net.userSubnets },
    });
  }

  /**
   * The network's pools, replayed now when this host has none yet: a global network made on
   * another host (the shared address space grants the claims the creating host made), or one
   * whose IPAM driver was not answering at the daemon's start (a plugin not running yet; its
   * endpoints' addresses are marked again too, a global network's are the cluster store's).
   */
  async ensurePools(net: NetworkRecord): Promise<void> {
    const { ipam, registry } = this.deps;
    if (!net.ipam.config.length || ipam.has(net.id)) return;
    await this.restorePools(net);
    if (this.capabilities(net).scope === 'global') return;
    for (const ep of registry.endpointsOfNetwork(net.id)) {
      if (ep.ipv4) await ipam.markAllocated(net.id, ep.ipv4);
      if (ep.ipv6) await ipam.markAllocated(net.id, ep.ipv6);
    }
  }

  /** How the embedded DNS serves a network: Docker gives the predefined ones no names. */
  dnsService(net: NetworkRecord): DnsService {
    if (net.predefined || net.configOnly) return 'none';
    return this.capabilities(net).dns;
  }

  async create(req: NetworkCreateRequest, predefined = false): Promise<NetworkRecord> {
    // The drivers are had before the lock: activating a plugin (up to its call deadline when its
    // socket refuses) holds up nobody else. Their errors are reported in Docker's order, after
    // the name checks.
    const found = await this.prefetch(req);
    return this.deps.serial.run(() => this.createLocked(req, predefined, found));
  }

  /** The network's drivers, or why they could not be had (reported later, in Docker's order). */
  private async prefetch(req: NetworkCreateRequest): Promise<Prefetched> {
    const settle = <T>(p: Promise<T>) => p.then((value) => ({ value }), (error: unknown) => ({ error }));
    return { driver: await settle(this.deps.drivers.resolve(req.Driver || 'bridge')), ipam: await settle(this.ipamDriver(req.IPAM?.Driver || 'default')) };
  }

  /** create() for a caller already inside the engine's serial section (a container start). */
  async createInSection(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.createLocked(req, false, await this.prefetch(req));
  }

  private async createLocked(req: NetworkCreateRequest, predefined: boolean, found: Prefetched): Promise<NetworkRecord> {
    const { registry, ipam, log } = this.deps;
    const name = req.Name ?? '';
    if (!predefined && PREDEFINED_NAMES.has(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
    if (req.CheckDuplicate !== false && registry.networks.all().some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
    if (!name) throw invalid('invalid name: ');
    const driverName = req.Driver || 'bridge';
    if ('error' in found.driver) throw found.driver.error;
    const driver = found.driver.value;
    if (!driver) throw notFound(`plugin "${driverName}" not found`);
    const caps = driver.capabilities;
    if (!predefined && caps.singleton) throw forbidden(`only one instance of "${driverName}" network is allowed`);
    const ipamDriver = req.IPAM?.Driver || 'default';
    if ('error' in found.ipam) throw found.ipam.error;
    const ipamImpl = found.ipam.value;

    const net: NetworkRecord = {
      id: newId(),
      name,
      driver: driverName,
      scope: caps.scope === 'global' && req.Scope === 'swarm' ? 'swarm' : caps.scope,
      created: nowRfc3339Nano(),
      enableIPv6: Boolean(req.EnableIPv6),
      internal: Boolean(req.Internal),
      attachable: Boolean(req.Attachable),
      ingress: Boolean(req.Ingress),
      configFrom: req.ConfigFrom?.Network ?? '',
      configOnly: Boolean(req.ConfigOnly),
      ipam: { driver: ipamDriver, options: req.IPAM?.Options ?? null, config: [] },
      options: req.Options ?? {},
      labels: req.Labels ?? {},
      userSubnets: (req.IPAM?.Config ?? []).length > 0,
      predefined,
      driverState: {},
      ipamRequested: (req.IPAM?.Config ?? []).map((c) => ({ ...c })),
    };
    if (caps.ipam) net.ipam.config = await this.allocatePools(net, ipamImpl, req.IPAM?.Config ?? []);
    try {
      net.driverState = await driver.prepareNetwork(net, registry.networks.all());
      await registry.networks.put(net); // recorded before the kernel is touched: a crash leaves a record to reconcile
      faultPoint('network.create.after-record');
      await driver.createNetwork(net);
      faultPoint('network.create.after-kernel');
    } catch (err) {
      await registry.networks.delete(net.id);
      await ipam.releasePools(net.id);
      await driver.deleteNetwork(net).catch(() => undefined);
      throw err;
    }
    log.info({ network: net.name, id: net.id, driver: net.driver, subnets: net.ipam.config.map((c) => c.Subnet) }, 'network created');
    // dockerd makes its predefined networks without an event (initBridgeDriver, not createNetwork).
    if (!predefined) this.deps.events.emit({ type: 'network', action: 'create', network: net });
    return net;
  }

  remove(ref: string): Promise<void> {
    return this.deps.serial.run(async () => {
      const net = this.deps.registry.findNetwork(ref);
      await this.removeLocked(net);
    });
  }

  private async removeLocked(net: NetworkRecord): Promise<void> {
    const { registry, ipam, log } = this.deps;
    if (net.predefined) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
    if (registry.endpointsOfNetwork(net.id).length > 0) {
      throw forbidden(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    }
    // The driver first: a network whose driver is gone (a plugin not running) is kept, as
    // libnetwork keeps it, rather than forgotten with its kernel objects left behind.
    const driver = await this.driverOf(net);
    await driver.checkRemove?.(net);
    // Its pools, so that a plugin's are released, not forgotten; an IPAM driver that is gone
    // does not keep the network (libnetwork's ipamRelease only warns).
    await this.ensurePools(net).catch((err: unknown) => log.warn({ network: net.name, ipam: net.ipam.driver, err: String(err) }, 'pools not released: IPAM driver not available'));
    await registry.networks.delete(net.id);
    await ipam.releasePools(net.id);
    faultPoint('network.rm.after-record');
    await driver.deleteNetwork(net);
    log.info({ network: net.name, id: net.id }, 'network removed');
    this.deps.events.emit({ type: 'network', action: 'destroy', network: net });
  }

  list(filters: Filters): NetworkRecord[] {
    checkFilterKeys(filters, ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
    const type = filters.get('type');
    for (const t of type ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
    const dangling = filters.get('dangling');
    for (const d of dangling ?? []) if (!['true', 'false', '1', '0'].includes(d.toLowerCase())) throw invalid(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
    return this.deps.registry.networks.all().filter((n) => {
      if (!anyMatch(filters.get('name'), (v) => regexMatch(v, n.name))) return false;
      if (!anyMatch(filters.get('id'), (v) => regexMatch(v, n.id))) return false;
      if (!anyMatch(filters.get('driver'), (v) => v === n.driver)) return false;
      if (!anyMatch(filters.get('scope'), (v) => v === n.scope)) return false;
      if (!anyMatch(type, (v) => (v === 'builtin') === n.predefined)) return false;
      if (!matchLabels(filters.get('label'), n.labels)) return false;
      if (dangling) {
        const wantDangling = ['true', '1'].includes(dangling[0].toLowerCase());
        const isDangling = !n.predefined && this.deps.registry.endpointsOfNetwork(n.id).length === 0;
        if (wantDangling !== isDangling) return false;
      }
      return true;
    });
  }

  /** Removes every unused user-defined network; returns the names removed. */
  prune(filters: Filters): Promise<string[]> {
    const wanted = pruneMatcher(filters);
    return this.deps.serial.run(async () => {
      const removed: string[] = [];
      for (const net of this.deps.registry.networks.all()) {
        if (net.predefined || this.deps.registry.endpointsOfNetwork(net.id).length > 0) continue;
        if (!wanted(net.created, net.labels)) continue;
        await this.removeLocked(net);
        removed.push(net.name);
      }
      return removed;
    });
  }
}

function anyMatch(values: string[] | undefined, pred: (v: string) => boolean): boolean {
  return !values || values.length === 0 || values.some(pred);
}

/** Docker matches name/id filters as regular expressions (substring unless anchored). */
function regexMatch(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return value.includes(pattern);
  }
}
