import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import { configOf } from '../drivers/bridge/options.js';
import type { ModelNetwork, Topology } from './reachability.js';

// The reachability model's input from the engine's records (for `weft network trace`): running
// containers' endpoints, each network's ICC from its bridge state, gateways only for networks
// whose bridge exists. Networks are keyed by name, or by ID where two share a name.

export interface RecordsView {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  containers: ReadonlyMap<string, ContainerRecord>;
  /** Whether the network's kernel objects exist (NetworkService.isRealized). */
  isRealized: (net: NetworkRecord) => boolean;
}

export function topologyOfRecords(view: RecordsView): Topology {
  const seen = new Map<string, number>();
  for (const n of view.networks) seen.set(n.name, (seen.get(n.name) ?? 0) + 1);
  const keyOf = new Map(view.networks.map((n) => [n.id, (seen.get(n.name) ?? 0) > 1 ? n.id : n.name]));
  const networks: ModelNetwork[] = view.networks.map((n) => {
    const cfg = n.driver === 'bridge' ? configOf(n) : null;
    const pools = n.ipam.config.filter((p) => n.enableIPv6 || !p.Subnet.includes(':'));
    return {
      name: keyOf.get(n.id)!,
      driver: n.driver,
      internal: n.internal,
      icc: cfg ? cfg.icc : true,
      dns: !n.predefined,
      gateways: view.isRealized(n) ? pools.flatMap((p) => (p.Gateway ? [p.Gateway] : [])) : [],
      subnets: pools.map((p) => p.Subnet),
    };
  });
  const members = view.endpoints.flatMap((ep) => {
    const c = view.containers.get(ep.containerId);
    const network = keyOf.get(ep.networkId);
    if (!c || !network || c.networkMode === 'host') return [];
    const att = c.networks.find((a) => a.networkId === ep.networkId);
    const addresses = [ep.ipv4, ep.ipv6].filter(Boolean).map((a) => a.split('/')[0]);
    // The names the embedded DNS serves (src/dns/table.ts namesOf).
    const names = [...new Set([c.name, ...(att?.aliases ?? ep.aliases), c.id.slice(0, 12), c.config.Hostname].filter(Boolean))];
    return [{ container: c.name, network, addresses, names }];
  });
  return { networks, members };
}
