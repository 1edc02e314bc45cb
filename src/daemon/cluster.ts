import type { Logger } from '../common/log.js';
import type { Cluster } from '../cluster/cluster.js';
import { Swarm, type SwarmHooks } from '../cluster/swarm.js';
import { StoreCluster } from '../cluster/store-cluster.js';
import { WEFT_VERSION } from '../api/routes/system.js';
import type { DaemonConfig } from './config.js';

// weftd's cluster: swarm mode (state under <data-root>/swarm, resumed after a restart), or the
// user's own etcd with --cluster-store (then swarm commands answer as outside a swarm).
// Made first and started later, so that what uses it (the overlay driver) exists before the
// swarm resumes and runs its hooks.

export interface DaemonCluster {
  swarm: Swarm | null;
  cluster: Cluster;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createCluster(config: DaemonConfig, log: Logger, hooks?: SwarmHooks): DaemonCluster {
  if (config.clusterStore) {
    const store = new StoreCluster({ dataRoot: config.dataRoot, store: config.clusterStore, engineVersion: WEFT_VERSION, log: log.child({ component: 'cluster' }) });
    return { swarm: null, cluster: store, start: () => store.start(), close: () => store.close() };
  }
  const swarm = new Swarm({ dataRoot: config.dataRoot, engineVersion: WEFT_VERSION, log: log.child({ component: 'swarm' }), hooks });
  return { swarm, cluster: swarm, start: () => swarm.start(), close: () => swarm.close() };
}
