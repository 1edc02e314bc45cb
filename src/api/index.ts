import type { Engine } from '../engine/engine.js';
import { NoCluster, type Cluster } from '../cluster/cluster.js';
import type { Swarm } from '../cluster/swarm.js';
import { swarmInfo } from '../cluster/swarm-admin.js';
import { Router } from './router.js';
import { containerRoutes } from './routes/containers.js';
import { eventRoutes } from './routes/events.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { networkRoutes } from './routes/networks.js';
import { statsRoutes } from './routes/stats.js';
import { swarmRoutes } from './routes/swarm.js';
import { systemRoutes } from './routes/system.js';
import { unservedRoutes } from './routes/unserved.js';
import { weftRoutes, type WeftRouteOptions } from './routes/weft.js';

/** swarm: this node's swarm (null with --cluster-store); cluster: what overlay networks would use. */
export function buildApi(engine: Engine, swarm: Swarm | null = null, cluster: Cluster = swarm ?? new NoCluster(), weft: WeftRouteOptions = {}): Router {
  const router = new Router();
  systemRoutes(router, engine, () => (swarm ? swarmInfo(swarm) : undefined));
  networkRoutes(router, engine, cluster);
  swarmRoutes(router, swarm, cluster);
  containerRoutes(router, engine, (id) => engine.runtime.logPath(id));
  statsRoutes(router, engine);
  execRoutes(router, engine);
  eventRoutes(router, engine);
  imageRoutes(router, engine);
  unservedRoutes(router, engine, cluster);
  weftRoutes(router, engine, weft);
  return router;
}
