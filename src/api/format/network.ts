import type { IpamPoolConfig, NetworkRecord } from '../../common/model.js';
import type { Registry } from '../../engine/registry.js';

// Docker's NetworkResource JSON (GET /networks/{id}), key for key.

export interface NetworkJson {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Record<string, unknown>[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export function networkJson(net: NetworkRecord, registry: Registry, withContainers: boolean): NetworkJson {
  const containers: NetworkJson['Containers'] = {};
  if (withContainers) {
    for (const ep of registry.endpointsOfNetwork(net.id)) {
      const c = registry.containers.byId.get(ep.containerId);
      containers[ep.containerId] = {
        Name: c?.name ?? '',
        EndpointID: ep.id,
        MacAddress: ep.mac,
        IPv4Address: ep.ipv4,
        IPv6Address: ep.ipv6,
      };
    }
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: net.scope,
    Driver: net.driver,
    EnableIPv6: net.enableIPv6,
    IPAM: {
      Driver: net.ipam.driver,
      Options: net.ipam.options,
      Config: ipamConfigJson(net),
    },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: net.ingress,
    ConfigFrom: { Network: net.configFrom },
    ConfigOnly: net.configOnly,
    Containers: containers,
    Options: net.options,
    Labels: net.labels,
  };
}

const isV6 = (c: IpamPoolConfig) => (c.Subnet ?? '').includes(':');

/**
 * Docker's IPAM.Config: per address family, the pools the user asked for exactly as given (no
 * gateway when none was given), else the pools the daemon allocated (with their gateway).
 * The default bridge is shown with its gateway (as dockerd >= 23 and the seed article do;
 * dockerd 20.10 omits it).
 */
export function ipamConfigJson(net: NetworkRecord): Record<string, unknown>[] {
  const requested = net.ipamRequested ?? [];
  const out: Record<string, unknown>[] = [];
  for (const v6 of [false, true]) {
    const asked = net.predefined ? [] : requested.filter((c) => Boolean(c.Subnet) && isV6(c) === v6);
    const pools = asked.length ? asked : net.ipam.config.filter((c) => isV6(c) === v6);
    for (const c of pools) {
      const o: Record<string, unknown> = { Subnet: c.Subnet };
      if (c.IPRange) o.IPRange = c.IPRange;
      if (c.Gateway) o.Gateway = c.Gateway;
      if (c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length) o.AuxiliaryAddresses = c.AuxiliaryAddresses;
      out.push(o);
    }
  }
  return out;
}
