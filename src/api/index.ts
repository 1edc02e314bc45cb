import type { Engine } from '../engine/engine.js';
import { Router } from './router.js';
import { containerRoutes } from './routes/containers.js';
import { eventRoutes } from './routes/events.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { networkRoutes } from './routes/networks.js';
import { systemRoutes } from './routes/system.js';
import { unservedRoutes } from './routes/unserved.js';

export function buildApi(engine: Engine): Router {
  const router = new Router();
  systemRoutes(router, engine);
  networkRoutes(router, engine);
  containerRoutes(router, engine, (id) => engine.runtime.logPath(id));
  execRoutes(router, engine);
  eventRoutes(router, engine);
  unservedRoutes(router, engine);
  imageRoutes(router, engine);
  return router;
}
