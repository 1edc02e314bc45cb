import type { Logger } from '../common/log.js';
import { join } from 'node:path';
import type { Ipam } from '../ipam/allocator.js';
import type { Kernel } from '../kernel/kernel.js';
import { macFromIPv4 } from '../drivers/bridge/mac.js';
import { newId } from '../common/ids.js';
import type { ContainerRecord, EndpointRecord, NetworkAttachment, NetworkRecord } from '../common/model.js';
import type { NetworkService } from './networks.js';
import type { Registry } from './registry.js';
import { PortAllocator, portRequests } from './ports.js';
import { faultPoint } from '../common/faults.js';

// A sandbox is a running container's network namespace plus its endpoints (libnetwork's nouns).
// Endpoints exist only while the container runs, as in Docker: stopping releases addresses.

export interface SandboxDeps {
  registry: Registry;
  ipam: Ipam;
  networks: NetworkService;
  kernel: Kernel;
  execRoot: string;
  log: Logger;
}

export class SandboxService {
  private readonly ports = new PortAllocator();

  constructor(private readonly deps: SandboxDeps) {}

  netnsPathFor(c: ContainerRecord): string {
    return join(this.deps.execRoot, 'netns', c.id.slice(0, 12));
  }

  /** Creates the namespace and joins every network the container asks for, in order. */
  async setUp(c: ContainerRecord): Promise<void> {
    if (c.networkMode === 'host') {
      for (const att of c.networks) this.recordEndpoint(c, att, this.deps.registry.findNetwork(att.networkId));
      return;
    }
    const path = this.netnsPathFor(c);
    c.netnsPath = path;
    this.deps.registry.containers.put(c);
    faultPoint('sandbox.setup.after-record');
    try {
      await this.deps.kernel.createNetns(path);
      faultPoint('sandbox.setup.after-netns');
      for (const att of c.networks) await this.join(c, att);
    } catch (err) {
      await this.tearDown(c);
      throw err;
    }
  }

  /** Leaves every network and deletes the namespace; keeps going past failures. */
  async tearDown(c: ContainerRecord): Promise<void> {
    const errors: unknown[] = [];
    for (const ep of this.deps.registry.endpointsOfContainer(c.id)) {
      await this.leave(c, ep).catch((err) => errors.push(err));
    }
    faultPoint('sandbox.teardown.after-leave');
    if (c.netnsPath) {
      await this.deps.kernel.deleteNetns(c.netnsPath).catch((err) => errors.push(err));
      c.netnsPath = '';
      if (this.deps.registry.containers.byId.has(c.id)) this.deps.registry.containers.put(c);
    }
    if (errors.length) this.deps.log.warn({ container: c.name, errors: errors.map(String) }, 'sandbox teardown incomplete');
  }

  /** Creates an endpoint (address, MAC, interface name) and asks the network's driver to plumb it. */
  async join(c: ContainerRecord, att: NetworkAttachment): Promise<EndpointRecord> {
    const net = this.deps.registry.findNetwork(att.networkId);
    const ep = this.recordEndpoint(c, att, net);
    faultPoint('sandbox.join.after-record');
    const defaultRoute = !net.internal && !this.deps.registry.endpointsOfContainer(c.id).some((e) => e.id !== ep.id && e.gateway4 && this.providesDefaultRoute(e));
    try {
      // Published ports go on the gateway endpoint only, as in Docker.
      if (defaultRoute && net.driver === 'bridge') {
        const requests = portRequests(c);
        if (requests.length) {
          const inUse = this.deps.registry.endpoints.all().flatMap((e) => (e.id === ep.id ? [] : (e.ports ?? [])));
          ep.ports = this.ports.allocate(c, net, ep, requests, inUse);
          this.deps.registry.endpoints.put(ep);
        }
      }
      await this.deps.networks.driverOf(net).join(net, ep, c.netnsPath, { defaultRoute });
    } catch (err) {
      this.releaseEndpoint(ep);
      throw err;
    }
    return ep;
  }

  async leave(c: ContainerRecord, ep: EndpointRecord): Promise<void> {
    const net = this.deps.registry.networks.byId.get(ep.networkId);
    try {
      if (net) await this.deps.networks.driverOf(net).leave(net, ep, c.netnsPath || null);
      faultPoint('sandbox.leave.after-kernel');
    } finally {
      this.releaseEndpoint(ep);
    }
  }

  private providesDefaultRoute(ep: EndpointRecord): boolean {
    const net = this.deps.registry.networks.byId.get(ep.networkId);
    return Boolean(net && !net.internal);
  }

  private recordEndpoint(c: ContainerRecord, att: NetworkAttachment, net: NetworkRecord): EndpointRecord {
    const { registry, ipam } = this.deps;
    const used = new Set(registry.endpointsOfContainer(c.id).map((e) => e.ifname));
    let index = 0;
    while (used.has(`eth${index}`)) index++;
    const v4 = net.ipam.config.find((p) => !p.Subnet.includes(':'));
    const v6 = net.ipam.config.find((p) => p.Subnet.includes(':'));
    const ipv4 = v4 ? ipam.requestAddress(net.id, 'v4', att.ipv4Address || undefined) : '';
    let ipv6 = '';
    try {
      ipv6 = v6 && net.enableIPv6 ? ipam.requestAddress(net.id, 'v6', att.ipv6Address || undefined) : '';
    } catch (err) {
      if (ipv4) ipam.releaseAddress(net.id, ipv4);
      throw err;
    }
    const id = newId();
    const ep: EndpointRecord = {
      id,
      networkId: net.id,
      containerId: c.id,
      ifname: c.networkMode === 'host' ? '' : `eth${index}`,
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
    registry.endpoints.put(ep);
    return ep;
  }

  private releaseEndpoint(ep: EndpointRecord): void {
    const { registry, ipam } = this.deps;
    registry.endpoints.delete(ep.id);
    if (ep.ipv4) ipam.releaseAddress(ep.networkId, ep.ipv4);
    if (ep.ipv6) ipam.releaseAddress(ep.networkId, ep.ipv6);
  }
}
