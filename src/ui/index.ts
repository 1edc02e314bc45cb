import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../common/log.js';
import type { Engine } from '../engine/engine.js';
import { exposureWarning, type UiAddress } from './address.js';
import { createUiServer } from './server.js';
import { TopologyStream } from './stream.js';
import { buildTopology, type Topology, type TopologyHost } from './topology.js';
import { unixTrace } from './trace-proxy.js';

// weftd --ui: the topology page, composed from the engine's records and event bus, the cluster's
// members, and the Engine API socket (for traces). Started by the daemon's composition root.

export { parseUiAddress, type UiAddress } from './address.js';

export interface UiOptions {
  address: UiAddress;
  engine: Engine;
  cluster: Cluster;
  /** The Engine API's unix socket, where GET /weft/trace is asked. */
  apiSocket: string;
  log: Logger;
}

export interface RunningUi {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export function topologyOf(engine: Engine, cluster: Cluster): Topology {
  return buildTopology({
    networks: engine.registry.networks.byId.values(),
    containers: engine.registry.containers.byId.values(),
    endpoints: engine.registry.endpoints.byId.values(),
    hosts: hostsOf(cluster),
    isRealized: (n) => engine.networks.isRealized(n),
  });
}

function hostsOf(cluster: Cluster): TopologyHost[] {
  const self: TopologyHost = { id: cluster.nodeId ?? 'local', hostname: hostname(), addr: cluster.addr ?? null, role: cluster.role, alive: true, self: true };
  const others = cluster
    .nodes()
    .filter((n) => n.id !== self.id)
    .map((n): TopologyHost => ({ id: n.id, hostname: n.hostname, addr: n.addr, role: n.role, alive: n.alive, self: false }));
  const me = cluster.nodes().find((n) => n.id === self.id);
  return [me ? { ...self, hostname: me.hostname, role: me.role } : self, ...others];
}

export async function startUi(opts: UiOptions): Promise<RunningUi> {
  const log = opts.log.child({ component: 'ui' });
  const warning = exposureWarning(opts.address);
  if (warning) log.warn({ address: opts.address.host, port: opts.address.port }, warning);
  const topology = () => topologyOf(opts.engine, opts.cluster);
  const stream = new TopologyStream(topology, (f) => opts.engine.events.subscribe(f), (err) => log.error({ err: String(err) }, 'topology stream failed'));
  // Cluster membership changes the hosts drawn, though no engine event says so.
  const onNodes = () => stream.poke('cluster', 'nodes');
  opts.cluster.on('nodes', onNodes);
  const server = createUiServer({ topology, stream, trace: unixTrace(opts.apiSocket), log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      opts.cluster.off('nodes', onNodes);
      stream.close();
      reject(new Error(`--ui ${opts.address.host}:${opts.address.port}: ${err.message}`));
    });
    server.listen(opts.address.port, opts.address.host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.error({ err: String(err) }, 'topology page server error'));
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.address.port;
  log.info({ url: `http://${opts.address.host.includes(':') ? `[${opts.address.host}]` : opts.address.host}:${port}/` }, 'topology page listening');
  return {
    server,
    port,
    close: async () => {
      opts.cluster.off('nodes', onNodes);
      stream.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
