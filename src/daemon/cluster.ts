import type { Logger } from '../common/log.js';
import type { Cluster } from '../cluster/cluster.js';
import { Swarm } from '../cluster/swarm.js';
import { StoreCluster } from '../cluster/store-cluster.js';
import { WEFT_VERSION } from '../api/routes/system.js';
import type { DaemonConfig } from './config.js';

// weftd's cluster: swarm mode (state under <data-root>/swarm, resumed after a restart), or the
// user's own etcd with --cluster-store (then swarm commands answer as outside a swarm).

export interface DaemonCluster {
  swarm: Swarm | null;
  cluster: Cluster;
  close(): Promise<void>;
}

export async function startCluster(config: DaemonConfig, log: Logger): Promise<DaemonCluster> {
  if (config.clusterStore) {
    const store = new StoreCluster({ dataRoot: config.dataRoot, store: config.clusterStore, engineVersion: WEFT_VERSION, log: log.child({ component: 'cluster' }) });
    await store.start();
    return { swarm: null, cluster: store, close: () => store.close() };
  }
  const swarm = new Swarm({ dataRoot: config.dataRoot, engineVersion: WEFT_VERSION, log: log.child({ component: 'swarm' }) });
  await swarm.start();
  return { swarm, cluster: swarm, close: () => swarm.close() };
}
