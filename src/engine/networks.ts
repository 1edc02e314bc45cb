import type { Logger } from '../common/log.js';
import type { NetworkDriver } from '../drivers/driver.js';
import { unsupportedDriverError } from '../drivers/macvlan/index.js';
import type { Ipam } from '../ipam/allocator.js';
import { conflict, forbidden, invalid, notFound } from '../common/errors.js';
import { checkFilterKeys, matchLabels, matchNoLabels, parseUntil, type Filters } from './filters.js';
import { newId } from '../common/ids.js';
import type { IpamPoolConfig, NetworkRecord } from '../common/model.js';
import type { Registry } from './registry.js';
import type { Serial } from './lock.js';
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
  ipam: Ipam;
  drivers: Map<string, NetworkDriver>;
  serial: Serial;
  hostRoutes: () => string[];
  log: Logger;
}

const PREDEFINED_DRIVERS = new Set(['host', 'null']);
const PREDEFINED_NAMES = new Set(['bridge', 'host', 'none', 'default']);


export class NetworkService {
  constructor(private readonly deps: NetworkDeps) {
    // Drivers that create a network's kernel objects lazily (bridge: at its first join) say when
    // they did; followers of the records hear it as 'realized' on registry.networks (the
    // embedded DNS binds on the gateway address then).
    for (const d of deps.drivers.values()) d.onRealized?.((net) => deps.registry.networks.emit('realized', net));
  }

  /** Whether the network's kernel objects exist (lazy drivers make them at the first join). */
  isRealized(net: NetworkRecord): boolean {
    return this.deps.drivers.get(net.driver)?.isRealized?.(net.id) ?? true;
  }

  driverOf(net: NetworkRecord): NetworkDriver {
    const driver = this.deps.drivers.get(net.driver);
    if (!driver) throw notFound(`plugin "${net.driver}" not found`);
    return driver;
  }

  create(req: NetworkCreateRequest, predefined = false): Promise<NetworkRecord> {
    return this.deps.serial.run(() => this.createLocked(req, predefined));
  }

  private async createLocked(req: NetworkCreateRequest, predefined: boolean): Promise<NetworkRecord> {
    const { registry, ipam, log } = this.deps;
    const name = req.Name ?? '';
    if (!predefined && PREDEFINED_NAMES.has(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
    if (req.CheckDuplicate !== false && registry.networks.all().some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
    if (!name) throw invalid('invalid name: ');
    const driverName = req.Driver || 'bridge';
    const driver = this.deps.drivers.get(driverName);
    if (!driver) throw unsupportedDriverError(driverName) ?? notFound(`plugin "${driverName}" not found`);
    if (!predefined && PREDEFINED_DRIVERS.has(driverName)) throw forbidden(`only one instance of "${driverName}" network is allowed`);
    const ipamDriver = req.IPAM?.Driver || 'default';
    if (ipamDriver !== 'default' && ipamDriver !== 'null') throw notFound(`plugin "${ipamDriver}" not found`);

    const net: NetworkRecord = {
      id: newId(),
      name,
      driver: driverName,
      scope: 'local',
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
    const existing = registry.networks.all().map((n) => ({ id: n.id, subnets: n.ipam.config.map((c) => c.Subnet) }));
    if (!PREDEFINED_DRIVERS.has(driverName) && ipamDriver === 'default') {
      net.ipam.config = ipam.requestPools(net.id, { config: req.IPAM?.Config ?? [], enableIPv6: net.enableIPv6 }, existing, this.deps.hostRoutes());
    }
    try {
      net.driverState = driver.prepareNetwork(net, registry.networks.all());
      registry.networks.put(net); // recorded before the kernel is touched: a crash leaves a record to reconcile
      faultPoint('network.create.after-record');
      await driver.createNetwork(net);
      faultPoint('network.create.after-kernel');
    } catch (err) {
      registry.networks.delete(net.id);
      ipam.releasePools(net.id);
      await driver.deleteNetwork(net).catch(() => undefined);
      throw err;
    }
    log.info({ network: net.name, id: net.id, driver: net.driver, subnets: net.ipam.config.map((c) => c.Subnet) }, 'network created');
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
    registry.networks.delete(net.id);
    ipam.releasePools(net.id);
    faultPoint('network.rm.after-record');
    await this.driverOf(net).deleteNetwork(net);
    log.info({ network: net.name, id: net.id }, 'network removed');
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
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const until = filters.get('until')?.map((u) => parseUntil(u));
    return this.deps.serial.run(async () => {
      const removed: string[] = [];
      for (const net of this.deps.registry.networks.all()) {
        if (net.predefined || this.deps.registry.endpointsOfNetwork(net.id).length > 0) continue;
        if (until && !until.every((t) => Date.parse(net.created) < t)) continue;
        if (!matchLabels(filters.get('label'), net.labels) || !matchNoLabels(filters.get('label!'), net.labels)) continue;
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
