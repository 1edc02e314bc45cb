import type { Logger } from '../common/log.js';
import type { Cluster, ClusterNode } from '../cluster/cluster.js';
import type { DriverRegistry } from '../drivers/driver.js';
import { RemoteNetworkDriver } from './network-driver.js';

// libnetwork's pushNodeDiscovery: network plugins of global connectivity scope hear of every
// live node of the cluster (DiscoverNew, Self for this one) and of nodes that go
// (DiscoverDelete). A plugin activated later is told of the nodes already there.

export function feedNodeDiscovery(cluster: Cluster, drivers: DriverRegistry, log: Logger): () => void {
  let known = new Map<string, boolean>(); // address -> self
  const globalDrivers = () => drivers.all().filter((d): d is RemoteNetworkDriver => d instanceof RemoteNetworkDriver && d.remote.connectivityScope === 'global');
  const tell = (d: RemoteNetworkDriver, kind: 'new' | 'delete', address: string, self: boolean) =>
    d.discover(kind, { address, self }).catch((err: unknown) => log.warn({ plugin: d.name, kind, address, err: String(err) }, 'node discovery not delivered'));
  const alive = (nodes: ClusterNode[]) => new Map(nodes.filter((n) => n.alive && n.addr).map((n) => [n.addr, n.id === cluster.nodeId]));

  const onNodes = (nodes: ClusterNode[]) => {
    const now = alive(nodes);
    for (const d of globalDrivers()) {
      for (const [addr, self] of now) if (!known.has(addr)) void tell(d, 'new', addr, self);
      for (const [addr, self] of known) if (!now.has(addr)) void tell(d, 'delete', addr, self);
    }
    known = now;
  };
  cluster.on('nodes', onNodes);
  drivers.onRegister((d) => {
    if (!(d instanceof RemoteNetworkDriver) || d.remote.connectivityScope !== 'global') return;
    for (const [addr, self] of known) void tell(d, 'new', addr, self);
  });
  onNodes(cluster.nodes());
  return () => cluster.off('nodes', onNodes);
}
