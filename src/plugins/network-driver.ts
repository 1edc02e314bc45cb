import type { Logger } from '../common/log.js';
import type { EndpointRecord, NetworkRecord } from '../common/model.js';
import { systemError } from '../common/errors.js';
import type { DriverCapabilities, EndpointUpdate, NetworkDriver } from '../drivers/driver.js';
import { parseCidr } from '../ipam/cidr.js';
import type { Kernel } from '../kernel/types.js';
import { PlanError } from '../kernel/base.js';
import { exposedPortsOption, ipamData, joinSteps, leaveSteps, parseJoinAnswer, portmapOption, srcNameFromAlias } from './join-steps.js';
import type { Plugin } from './plugin.js';

// A network plugin as one more NetworkDriver (libnetwork's drivers/remote): every call is the
// plugin's NetworkDriver.* method; what its Join answers is applied in the kernel here, with the
// bridge driver's sandbox steps. The engine's join is CreateEndpoint + Join (+ external
// connectivity for the endpoint that provides the default route), its leave the reverse. Any
// failure after CreateEndpoint is rolled back (Leave, DeleteEndpoint; the interface given back),
// so a failed join leaves nothing; cleanups that find the plugin down are sent when it is back.

const OPT_GENERIC = 'com.docker.network.generic';
const OPT_IPV6 = 'com.docker.network.enable_ipv6';
const OPT_INTERNAL = 'com.docker.network.internal';
const OPT_PORTMAP = 'com.docker.network.portmap';
const OPT_EXPOSED = 'com.docker.network.endpoint.exposedports';

export interface RemoteCapabilities {
  scope: 'local' | 'global';
  connectivityScope: 'local' | 'global';
}

/** libnetwork's getCapabilities checks, with its texts. */
export function parseCapabilities(res: Record<string, unknown>): RemoteCapabilities {
  const scope = res.Scope;
  if (scope !== 'local' && scope !== 'global') throw systemError(`invalid capability: expecting 'local' or 'global', got ${String(scope ?? '')}`);
  const cs = res.ConnectivityScope ?? '';
  if (cs !== '' && cs !== 'local' && cs !== 'global') throw systemError(`invalid capability: expecting 'local' or 'global', got ${String(scope)}`);
  return { scope, connectivityScope: (cs || scope) as 'local' | 'global' };
}

export interface RemoteDriverOptions {
  plugin: Plugin;
  remote: RemoteCapabilities;
  kernel: Kernel;
  /** The address space of a network's pools (its IPAM driver's default one for the network's scope). */
  addressSpace: (net: NetworkRecord) => Promise<string>;
  log: Logger;
}

export class RemoteNetworkDriver implements NetworkDriver {
  readonly name: string;
  // The plugin does its own plumbing; weft gives its endpoints addresses, published ports (the
  // plugin is handed them in ProgramExternalConnectivity, as in Docker) and names: the embedded
  // DNS listens on the network's gateway, so it answers where the plugin puts that on the host.
  readonly capabilities: DriverCapabilities;
  readonly remote: RemoteCapabilities;
  private readonly plugin: Plugin;
  private readonly kernel: Kernel;

  constructor(private readonly opts: RemoteDriverOptions) {
    this.plugin = opts.plugin;
    this.name = opts.plugin.name;
    this.kernel = opts.kernel;
    this.remote = opts.remote;
    this.capabilities = { scope: opts.remote.scope, ipam: true, singleton: false, publishesPorts: true, dns: 'listener', sandbox: 'interface' };
  }

  /** The plugin validates options itself (at CreateNetwork). */
  async prepareNetwork(): Promise<Record<string, string>> {
    return {};
  }

  async createNetwork(net: NetworkRecord): Promise<void> {
    const space = await this.opts.addressSpace(net);
    const options: Record<string, unknown> = { [OPT_GENERIC]: { ...net.options }, [OPT_IPV6]: net.enableIPv6 };
    if (net.internal) options[OPT_INTERNAL] = true;
    await this.plugin.call('NetworkDriver', 'CreateNetwork', {
      NetworkID: net.id,
      Options: options,
      IPv4Data: ipamData(net, false, space),
      IPv6Data: ipamData(net, true, space),
    });
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    await this.plugin.cleanup('NetworkDriver', 'DeleteNetwork', { NetworkID: net.id });
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<EndpointUpdate> {
    const ids = { NetworkID: net.id, EndpointID: ep.id };
    const epOptions = { [OPT_EXPOSED]: exposedPortsOption(ep.ports), [OPT_PORTMAP]: portmapOption(ep.ports) };
    const created = await this.plugin.call('NetworkDriver', 'CreateEndpoint', {
      ...ids,
      Interface: { Address: ep.ipv4, AddressIPv6: ep.ipv6, MacAddress: ep.mac },
      Options: epOptions,
    });
    const undo: (() => Promise<void>)[] = [() => this.plugin.cleanup('NetworkDriver', 'DeleteEndpoint', ids)];
    try {
      const chosen = fillInterface(created.Interface as Record<string, unknown> | null | undefined, ep);
      ep = { ...ep, ...chosen };
      const answer = await this.plugin.call('NetworkDriver', 'Join', { ...ids, SandboxKey: netnsPath, Options: {} });
      undo.unshift(() => this.plugin.cleanup('NetworkDriver', 'Leave', ids));
      let parsed;
      try {
        parsed = parseJoinAnswer(answer);
      } catch (err) {
        throw systemError((err as Error).message);
      }
      const steps = joinSteps(ep, parsed, netnsPath, opts.defaultRoute);
      if (steps.length) {
        undo.unshift(() => this.giveBack(ep, netnsPath));
        await this.kernel.apply(steps).catch((err: unknown) => {
          const f = err instanceof PlanError ? err.failures[0] : undefined;
          if (f?.index === 0) throw systemError(`failed to add interface ${parsed.srcName} to sandbox: ${f.code === 'ENODEV' ? 'Link not found' : f.message}`);
          throw err;
        });
      }
      if (opts.defaultRoute) {
        await this.plugin.optional('NetworkDriver', 'ProgramExternalConnectivity', { ...ids, Options: epOptions });
        undo.unshift(() => this.revoke(ids));
      }
      // The endpoint's gateways are the plugin's (libnetwork takes them from Join only).
      if (parsed.gateway4 !== ep.gateway4) chosen.gateway4 = parsed.gateway4;
      if (parsed.gateway6 !== ep.gateway6) chosen.gateway6 = parsed.gateway6;
      return chosen;
    } catch (err) {
      await this.rollback(undo, err);
      throw err;
    }
  }

  async leave(net: NetworkRecord, ep: EndpointRecord, netnsPath: string | null): Promise<void> {
    const ids = { NetworkID: net.id, EndpointID: ep.id };
    const errors: string[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        errors.push((err as Error).message);
      }
    };
    await attempt(() => this.revoke(ids));
    if (netnsPath) await attempt(() => this.giveBack(ep, netnsPath));
    await attempt(() => this.plugin.cleanup('NetworkDriver', 'Leave', ids));
    await attempt(() => this.plugin.cleanup('NetworkDriver', 'DeleteEndpoint', ids));
    if (errors.length) throw systemError(errors.join('; '));
  }

  /** The plugin keeps its own state: nothing is replayed to it (dockerd does not either). */
  async restore(): Promise<void> {}

  /** libnetwork's EndpointOperInfo: the plugin's view of an endpoint (its Value map). */
  async endpointInfo(net: NetworkRecord, ep: EndpointRecord): Promise<Record<string, unknown>> {
    const res = await this.plugin.call('NetworkDriver', 'EndpointOperInfo', { NetworkID: net.id, EndpointID: ep.id });
    return (res.Value as Record<string, unknown> | undefined) ?? {};
  }

  /** Node discovery (DiscoveryType 1): another host joined (or left) the cluster. */
  async discover(kind: 'new' | 'delete', node: { address: string; bindAddress?: string; self: boolean }): Promise<void> {
    const body = { DiscoveryType: 1, DiscoveryData: { Address: node.address, BindAddress: node.bindAddress ?? node.address, Self: node.self } };
    await this.plugin.optional('NetworkDriver', kind === 'new' ? 'DiscoverNew' : 'DiscoverDelete', body);
  }

  private async revoke(ids: { NetworkID: string; EndpointID: string }): Promise<void> {
    await this.plugin.optional('NetworkDriver', 'RevokeExternalConnectivity', ids);
  }

  /** Moves the plugin's interface out of the sandbox under its own name (found by its alias). */
  private async giveBack(ep: EndpointRecord, netnsPath: string): Promise<void> {
    if (!(await this.kernel.netnsExists(netnsPath))) return; // its interfaces went with it
    for (const link of await this.kernel.links({ ns: netnsPath })) {
      const src = srcNameFromAlias(ep, link.alias);
      if (src === null) continue;
      await this.kernel.apply(leaveSteps(link.name, src, netnsPath, this.kernel.netns ?? `/proc/${process.pid}/ns/net`), { force: true });
    }
  }

  private async rollback(undo: (() => Promise<void>)[], cause: unknown): Promise<void> {
    for (const step of undo) {
      await step().catch((err: unknown) => this.opts.log.warn({ plugin: this.name, err: String(err), cause: String(cause) }, 'rollback step failed'));
    }
  }
}

/**
 * What a CreateEndpoint answer fills in: libnetwork takes the plugin's address and MAC only where
 * the endpoint has none (the null IPAM, no MAC), and refuses an answer that would change one.
 */
function fillInterface(iface: Record<string, unknown> | null | undefined, ep: EndpointRecord): EndpointUpdate {
  const chosen: EndpointUpdate = {};
  if (!iface) return chosen;
  const mac = typeof iface.MacAddress === 'string' ? iface.MacAddress.toLowerCase() : '';
  if (mac && ep.mac && mac !== ep.mac.toLowerCase()) throw systemError(`driver modified interface MAC address: endpoint interface MAC address present (${ep.mac}). Cannot be modified with ${mac}.`);
  if (mac && !ep.mac) {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw systemError(`address ${mac}: invalid MAC address`);
    chosen.mac = mac;
  }
  for (const [key, field, family] of [['Address', 'ipv4', 4], ['AddressIPv6', 'ipv6', 6]] as const) {
    const v = typeof iface[key] === 'string' ? (iface[key] as string) : '';
    if (!v) continue;
    const have = ep[field];
    if (have && v !== have) throw systemError(`driver modified interface address: endpoint interface IP present (${have}). Cannot be modified with (${v}).`);
    if (have) continue;
    if (parseCidr(v)?.family !== family) throw systemError(`invalid CIDR address: ${v}`);
    chosen[field] = v;
  }
  return chosen;
}
