import type { Engine } from '../engine/engine.js';
import { Router } from './router.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { networkRoutes } from './routes/networks.js';
import { systemRoutes } from './routes/system.js';
import { weftRoutes } from './routes/weft.js';

export function buildApi(engine: Engine): Router {
  const router = new Router();
  systemRoutes(router, engine);
  networkRoutes(router, engine);
  containerRoutes(router, engine, (id) => engine.runtime.logPath(id));
  execRoutes(router, engine);
  imageRoutes(router, engine);
  weftRoutes(router, engine);
  return router;
}
