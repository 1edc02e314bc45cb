import type { Logger } from '../common/log.js';
import { join } from 'node:path';
import type { NetworkAddressing } from '../ipam/index.js';
import type { Kernel } from '../kernel/types.js';
import { macFromIPv4 } from '../common/mac.js';
import { defaultRouteSteps } from '../drivers/plumbing.js';
import { newId } from '../common/ids.js';
import type { ContainerRecord, EndpointRecord, NetworkAttachment, NetworkRecord } from '../common/model.js';
import type { NetworkService } from './networks.js';
import type { Registry } from './registry.js';
import { PortAllocator, portRequests } from './ports.js';
import type { EventBus } from './events/index.js';
import type { DriverCapabilities } from '../drivers/driver.js';

export type SandboxKind = DriverCapabilities['sandbox'];
import { faultPoint } from '../common/faults.js';
import { Timeline } from '../common/timeline.js';

// A sandbox is a running container's network namespace plus its endpoints (libnetwork's nouns).
// Endpoints exist only while the container runs, as in Docker: stopping releases addresses.

export interface SandboxDeps {
  registry: Registry;
  ipam: NetworkAddressing;
  networks: NetworkService;
  kernel: Kernel;
  execRoot: string;
  events: EventBus;
  log: Logger;
  /** docker_gwbridge (made if missing), for containers on networks without a way out of their own. */
  gatewayBridge?: () => Promise<NetworkRecord>;
}

export class SandboxService {
  private readonly ports = new PortAllocator();

  constructor(private readonly deps: SandboxDeps) {}

  /** How the container's network namespace is made: said by its first network's driver. */
  kind(c: Pick<ContainerRecord, 'networks'>): SandboxKind {
    const first = c.networks[0] && this.deps.registry.networks.byId.get(c.networks[0].networkId);
    return first ? this.kindOf(first) : 'isolated';
  }

  /** The sandbox a network's driver makes. */
  kindOf(net: NetworkRecord): SandboxKind {
    return this.deps.networks.capabilities(net).sandbox;
  }

  netnsPathFor(c: ContainerRecord): string {
    return join(this.deps.execRoot, 'netns', c.id.slice(0, 12));
  }

  /** Creates the namespace and joins every network the container asks for, in order. */
  async setUp(c: ContainerRecord, t = new Timeline()): Promise<void> {
    if (this.kind(c) === 'host') {
      for (const att of c.networks) {
        const net = this.deps.registry.findNetwork(att.networkId);
        this.connected(net, await this.recordEndpoint(c, att, net), c);
      }
      return;
    }
    const path = this.netnsPathFor(c);
    c.netnsPath = path;
    await this.deps.registry.containers.put(c);
    t.mark('sandbox.record');
    faultPoint('sandbox.setup.after-record');
    try {
      await this.deps.kernel.createNetns(path);
      t.mark('sandbox.netns');
      faultPoint('sandbox.setup.after-netns');
      for (const att of c.networks) {
        await this.join(c, att);
        t.mark('sandbox.join');
      }
      await this.joinGatewayBridge(c);
    } catch (err) {
      await this.tearDown(c);
      throw err;
    }
  }

  /** Leaves every network and deletes the namespace; keeps going past failures. */
  async tearDown(c: ContainerRecord, t = new Timeline()): Promise<void> {
    const errors: unknown[] = [];
    for (const ep of this.deps.registry.endpointsOfContainer(c.id)) {
      await this.leave(c, ep, t).catch((err) => errors.push(err));
    }
    faultPoint('sandbox.teardown.after-leave');
    if (c.netnsPath) {
      await this.deps.kernel.deleteNetns(c.netnsPath).catch((err) => errors.push(err));
      t.mark('teardown.netns');
      c.netnsPath = '';
      if (this.deps.registry.containers.byId.has(c.id)) await this.deps.registry.containers.put(c);
      t.mark('teardown.record');
    }
    if (errors.length) this.deps.log.warn({ container: c.name, errors: errors.map(String) }, 'sandbox teardown incomplete');
  }

  /** Creates an endpoint (address, MAC, interface name) and asks the network's driver to plumb it. */
  async join(c: ContainerRecord, att: NetworkAttachment, gatewayService = false): Promise<EndpointRecord> {
    const net = this.deps.registry.findNetwork(att.networkId);
    await this.deps.networks.ensurePools(net);
    const ep = await this.recordEndpoint(c, att, net, gatewayService);
    faultPoint('sandbox.join.after-record');
    const defaultRoute = this.providesDefaultRoute(ep) && !this.deps.registry.endpointsOfContainer(c.id).some((e) => e.id !== ep.id && e.gateway4 && this.providesDefaultRoute(e));
    try {
      // Published ports go on the gateway endpoint only, as in Docker.
      if (defaultRoute && this.deps.networks.capabilities(net).publishesPorts) {
        const requests = portRequests(c);
        if (requests.length) {
          const inUse = this.deps.registry.endpoints.all().flatMap((e) => (e.id === ep.id ? [] : (e.ports ?? [])));
          ep.ports = this.ports.allocate(c, net, ep, requests, inUse);
          await this.deps.registry.endpoints.put(ep);
        }
      }
      const chosen = await (await this.deps.networks.driverOf(net)).join(net, ep, c.netnsPath, { defaultRoute, containerName: c.name });
      if (chosen && Object.keys(chosen).length) {
        Object.assign(ep, chosen);
        await this.deps.registry.endpoints.put(ep);
      }
    } catch (err) {
      await this.releaseEndpoint(ep);
      throw err;
    }
    this.connected(net, ep, c);
    return ep;
  }

  private connected(network: NetworkRecord, endpoint: EndpointRecord, container: ContainerRecord): void {
    this.deps.events.emit({ type: 'network', action: 'connect', network, endpoint, container });
  }

  async leave(c: ContainerRecord, ep: EndpointRecord, t = new Timeline()): Promise<void> {
    const net = this.deps.registry.networks.byId.get(ep.networkId);
    try {
      if (net) await (await this.deps.networks.driverOf(net)).leave(net, ep, c.netnsPath || null);
      t.mark('leave.driver');
      faultPoint('sandbox.leave.after-kernel');
    } finally {
      await this.releaseEndpoint(ep);
      t.mark('leave.release');
      if (net) this.deps.events.emit({ type: 'network', action: 'disconnect', network: net, endpoint: ep, container: c });
      t.mark('leave.announce');
    }
  }

  /**
   * A live disconnect: leaves the network, and when that endpoint held the default route, the
   * next endpoint on a non-internal network takes it over (libnetwork's sandbox.updateGateway).
   * Without that, a container still on another such network lost its way out.
   */
  async disconnect(c: ContainerRecord, ep: EndpointRecord): Promise<void> {
    const held = this.gatewayEndpoint(c)?.id === ep.id;
    await this.leave(c, ep);
    const next = held && c.netnsPath ? this.gatewayEndpoint(c) : undefined;
    if (next) await this.deps.kernel.apply(defaultRouteSteps(next, c.netnsPath));
  }

  /** The endpoint holding the default route: the first joined on a non-internal network (see join). */
  private gatewayEndpoint(c: ContainerRecord): EndpointRecord | undefined {
    return this.deps.registry.endpointsOfContainer(c.id).find((e) => e.gateway4 && this.providesDefaultRoute(e));
  }

  /** Internal networks give no way out, and networks whose way out is docker_gwbridge neither. */
  private providesDefaultRoute(ep: EndpointRecord): boolean {
    const net = this.deps.registry.networks.byId.get(ep.networkId);
    return Boolean(net && !net.internal && this.deps.networks.capabilities(net).wayOut !== 'gwbridge');
  }

  /**
   * libnetwork's sandbox.needDefaultGW: a container whose networks include a non-internal one
   * without its own way out (overlay), and none with a gateway of its own, is connected to
   * docker_gwbridge too (an endpoint it did not ask for: gatewayService), as Docker does.
   */
  private async joinGatewayBridge(c: ContainerRecord): Promise<void> {
    const eps = this.deps.registry.endpointsOfContainer(c.id);
    if (eps.some((e) => e.gatewayService || (e.gateway4 && this.providesDefaultRoute(e)))) return;
    const needs = eps.some((e) => {
      const net = this.deps.registry.networks.byId.get(e.networkId);
      return net && !net.internal && this.deps.networks.capabilities(net).wayOut === 'gwbridge';
    });
    if (!needs || !this.deps.gatewayBridge) return;
    const gw = await this.deps.gatewayBridge();
    await this.join(c, { networkId: gw.id, aliases: [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }, true);
  }

  private async recordEndpoint(c: ContainerRecord, att: NetworkAttachment, net: NetworkRecord, gatewayService = false): Promise<EndpointRecord> {
    const { registry, ipam } = this.deps;
    const used = new Set(registry.endpointsOfContainer(c.id).map((e) => e.ifname));
    let index = 0;
    while (used.has(`eth${index}`)) index++;
    await this.deps.networks.ensurePools(net);
    const v4 = net.ipam.config.find((p) => !p.Subnet.includes(':'));
    const v6 = net.ipam.config.find((p) => p.Subnet.includes(':'));
    const ipv4 = v4 ? await ipam.requestAddress(net.id, 'v4', att.ipv4Address || undefined) : '';
    let ipv6 = '';
    try {
      ipv6 = v6 && net.enableIPv6 ? await ipam.requestAddress(net.id, 'v6', att.ipv6Address || undefined) : '';
    } catch (err) {
      if (ipv4) await ipam.releaseAddress(net.id, ipv4);
      throw err;
    }
    const id = newId();
    const ep: EndpointRecord = {
      id,
      networkId: net.id,
      containerId: c.id,
      ifname: this.kind(c) === 'host' ? '' : `eth${index}`,
      hostIfname: `veth${id.slice(0, 7)}`,
      ipv4,
      ipv6,
      gateway4: v4?.Gateway ?? '',
      gateway6: v6 && net.enableIPv6 ? (v6.Gateway ?? '') : '',
      mac: ipv4 ? macFromIPv4(ipv4.split('/')[0]) : '',
      aliases: att.aliases,
      requestedIpv4: att.ipv4Address,
      requestedIpv6: att.ipv6Address,
    };
    if (gatewayService) ep.gatewayService = true;
    await registry.endpoints.put(ep);
    return ep;
  }

  private async releaseEndpoint(ep: EndpointRecord): Promise<void> {
    const { registry, ipam } = this.deps;
    await registry.endpoints.delete(ep.id);
    if (ep.ipv4) await ipam.releaseAddress(ep.networkId, ep.ipv4);
    if (ep.ipv6) await ipam.releaseAddress(ep.networkId, ep.ipv6);
  }
}
