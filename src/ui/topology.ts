import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';

// The topology page's data: hosts, networks, containers and the endpoints joining them (the
// graph's edges), built from the engine's in-memory records. Pure, so it is tested without a
// daemon. Networks whose records the cluster shares (scope other than local: overlay) belong to
// no one host; local networks and containers belong to this one.

export interface TopologyHost {
  id: string;
  hostname: string;
  addr: string | null;
  role: string;
  alive: boolean;
  self: boolean;
}

export interface TopologyNetwork {
  id: string;
  name: string;
  driver: string;
  scope: string;
  /** Spans the cluster's hosts (its records are shared), as overlay networks do. */
  multiHost: boolean;
  host: string | null;
  internal: boolean;
  ipv6: boolean;
  subnets: { subnet: string; gateway: string | null }[];
  /** The network's device on the host (bridge name; a macvlan's parent), null when it has none. */
  device: string | null;
  /** Whether the driver has made the network's kernel objects yet (bridges are made lazily). */
  realized: boolean;
  predefined: boolean;
}

export interface TopologyInterface {
  endpoint: string;
  network: string;
  ifname: string;
  hostIfname: string;
  ipv4: string;
  ipv6: string;
  mac: string;
  gateway: string;
}

export interface TopologyContainer {
  id: string;
  name: string;
  image: string;
  state: string;
  host: string;
  networkMode: string;
  /** Networks it is configured for (also while stopped, when it has no endpoints). */
  attachments: string[];
  interfaces: TopologyInterface[];
}

export interface TopologyEndpoint extends TopologyInterface {
  id: string;
  container: string;
}

export interface Topology {
  hosts: TopologyHost[];
  networks: TopologyNetwork[];
  containers: TopologyContainer[];
  endpoints: TopologyEndpoint[];
}

export interface TopologyInput {
  networks: Iterable<NetworkRecord>;
  containers: Iterable<ContainerRecord>;
  endpoints: Iterable<EndpointRecord>;
  /** This host first; other cluster members after it. */
  hosts: TopologyHost[];
  isRealized: (net: NetworkRecord) => boolean;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function buildTopology(input: TopologyInput): Topology {
  const self = input.hosts.find((h) => h.self)?.id ?? input.hosts[0]?.id ?? 'local';
  const networks = [...input.networks].map((n) => networkOf(n, self, input.isRealized(n))).sort(byName);
  const known = new Set(networks.map((n) => n.id));
  const endpoints: TopologyEndpoint[] = [];
  const byContainer = new Map<string, TopologyInterface[]>();
  for (const ep of input.endpoints) {
    if (!known.has(ep.networkId)) continue; // a network being removed: no edge to nowhere
    const iface = interfaceOf(ep);
    endpoints.push({ ...iface, id: ep.id, container: ep.containerId });
    const list = byContainer.get(ep.containerId) ?? [];
    list.push(iface);
    byContainer.set(ep.containerId, list);
  }
  const containers = [...input.containers]
    .map((c): TopologyContainer => ({
      id: c.id,
      name: c.name,
      image: c.config.Image,
      state: c.state.status,
      host: self,
      networkMode: c.networkMode,
      attachments: c.networks.map((a) => a.networkId),
      interfaces: (byContainer.get(c.id) ?? []).sort((a, b) => a.ifname.localeCompare(b.ifname, 'en', { numeric: true })),
    }))
    .sort(byName);
  const present = new Set(containers.map((c) => c.id));
  return {
    hosts: input.hosts,
    networks,
    containers,
    endpoints: endpoints.filter((e) => present.has(e.container)).sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
}

function networkOf(n: NetworkRecord, self: string, realized: boolean): TopologyNetwork {
  const multiHost = n.scope !== 'local';
  const state = n.driverState ?? {};
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    scope: n.scope,
    multiHost,
    host: multiHost ? null : self,
    internal: n.internal,
    ipv6: n.enableIPv6,
    subnets: n.ipam.config.map((p) => ({ subnet: p.Subnet, gateway: p.Gateway ?? null })),
    device: state.bridgeName ?? state.parent ?? null,
    realized,
    predefined: n.predefined,
  };
}

function interfaceOf(ep: EndpointRecord): TopologyInterface {
  return {
    endpoint: ep.id,
    network: ep.networkId,
    ifname: ep.ifname,
    hostIfname: ep.hostIfname,
    ipv4: ep.ipv4,
    ipv6: ep.ipv6,
    mac: ep.mac,
    gateway: ep.gateway4,
  };
}
