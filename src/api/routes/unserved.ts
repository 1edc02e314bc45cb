import type { Engine } from '../../engine/engine.js';
import { notFound, notImplemented, unavailable } from '../../common/errors.js';
import { Reply } from '../server.js';
import type { Router } from '../router.js';
import type { Cluster } from '../../cluster/cluster.js';
import { msg } from '../../cluster/messages.js';

// Docker endpoints for features weft does not have. Each answers as a dockerd does when the
// feature is not in use (an empty list, nothing to prune, no such volume) or, where dockerd would
// do something weft cannot, with a status of Docker's error table and a message saying what weft
// does not do; never a bare `page not found`. Container subpaths look the container up first, as
// dockerd does, so a wrong name is still 404 `No such container`.

const NO_REGISTRY = 'weft has no registry client: images come from `docker import` (or set-up\'s local images)';

export function unservedRoutes(router: Router, engine: Engine, cluster: Cluster): void {
  // Swarm services and their objects: weft's swarm mode runs overlay networks, not services.
  const refuse = () => {
    if (cluster.role === 'worker') throw unavailable(msg.notManagerWorker);
    if (cluster.role !== 'manager') throw unavailable(msg.notManagerInactive);
    throw notImplemented('weft does not run swarm services, tasks, secrets or configs: its swarm mode carries overlay networks for standalone containers');
  };
  for (const kind of ['services', 'tasks', 'secrets', 'configs']) {
    router.add('GET', `/${kind}`, refuse);
    router.add('POST', `/${kind}/create`, refuse);
    router.add('GET', `/${kind}/{id}`, refuse);
    router.add('DELETE', `/${kind}/{id}`, refuse);
    router.add('POST', `/${kind}/{id}/update`, refuse);
  }
  router.add('GET', '/services/{id}/logs', refuse);

  // Volumes: weft keeps none, so there is never one to list, find or prune.
  router.add('GET', '/volumes', () => ({ Volumes: [], Warnings: null }));
  router.add('GET', '/volumes/{name}', (ctx) => {
    throw notFound(`get ${ctx.params.name}: no such volume`);
  });
  router.add('DELETE', '/volumes/{name}', (ctx) => {
    throw notFound(`get ${ctx.params.name}: no such volume`);
  });
  router.add('POST', '/volumes/prune', () => ({ VolumesDeleted: null, SpaceReclaimed: 0 }));
  router.add('POST', '/volumes/create', () => {
    throw notImplemented('weft does not manage volumes: containers get their image\'s root filesystem and the /etc files weft writes');
  });

  // Managed plugins (docker plugin install): none. Legacy network and IPAM plugins are found on
  // disk and listed once activated (dockerd lists only managed ones; weft has no other kind).
  const plugins = () => engine.opts.plugins?.() ?? [];
  router.add('GET', '/plugins', () => plugins());
  router.add('GET', '/plugins/{name}/json', (ctx) => {
    const name = ctx.params.name.replace(/:latest$/, '');
    const found = plugins().find((p) => p.Name === name || (typeof p.Id === 'string' && p.Id.startsWith(name)));
    if (!found) throw notFound(`plugin "${ctx.params.name}" not found`);
    return found;
  });
  for (const path of ['/plugins/pull', '/plugins/privileges', '/plugins/create']) {
    router.add(path === '/plugins/privileges' ? 'GET' : 'POST', path, () => {
      throw notImplemented('weft does not install managed plugins (docker plugin install)');
    });
  }

  // Building and registries.
  router.add('POST', '/build', () => {
    throw notImplemented('weft has no image builder: import a root filesystem with `docker import`');
  });
  router.add('POST', '/build/prune', () => new Reply(200, { CachesDeleted: null, SpaceReclaimed: 0 }));
  router.add('POST', '/session', () => {
    throw notImplemented('weft has no image builder (BuildKit sessions)');
  });
  for (const [method, path] of [
    ['GET', '/distribution/{name*}/json'],
    ['POST', '/auth'],
    ['GET', '/images/search'],
    ['POST', '/images/{name*}/push'],
  ] as const) {
    router.add(method, path, () => {
      throw notImplemented(NO_REGISTRY);
    });
  }
  for (const [method, path, what] of [
    ['GET', '/images/get', 'image export (docker save)'],
    ['GET', '/images/{name*}/get', 'image export (docker save)'],
    ['POST', '/images/load', 'image archives (docker load); use docker import'],
    ['POST', '/commit', 'commits (docker commit)'],
  ] as const) {
    router.add(method, path, () => {
      throw notImplemented(`weft does not support ${what}`);
    });
  }

  // Container features weft does not have; the container is looked up first.
  for (const [method, path, what] of [
    ['GET', '/containers/{id}/changes', 'filesystem diffs (docker diff)'],
    ['GET', '/containers/{id}/export', 'container export (docker export)'],
    ['POST', '/containers/{id}/update', 'resource updates (docker update)'],
    ['POST', '/containers/{id}/pause', 'pausing containers'],
    ['POST', '/containers/{id}/unpause', 'pausing containers'],
    ['GET', '/containers/{id}/archive', 'copying files (docker cp)'],
    ['HEAD', '/containers/{id}/archive', 'copying files (docker cp)'],
    ['PUT', '/containers/{id}/archive', 'copying files (docker cp)'],
    ['GET', '/containers/{id}/checkpoints', 'checkpoints'],
  ] as const) {
    router.add(method, path, (ctx) => {
      engine.registry.findContainer(ctx.params.id);
      throw notImplemented(`weft does not support ${what}`);
    });
  }
}
