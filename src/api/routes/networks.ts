import type { Engine } from '../../engine/engine.js';
import type { EndpointSettings } from '../../engine/attachments.js';
import { invalid, notFound } from '../../engine/errors.js';
import { parseFilters } from '../../engine/filters.js';
import { networkJson } from '../format/network.js';
import { boolParam, type Router } from '../router.js';
import { NetworkConnectSchema, NetworkCreateSchema, NetworkDisconnectSchema, parse } from '../schemas.js';
import { Reply } from '../server.js';

export function networkRoutes(router: Router, engine: Engine): void {
  const { registry, networks, connections } = engine;

  router.add('GET', '/networks', (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    return networks.list(filters).map((n) => networkJson(n, registry, false));
  });

  router.add('GET', '/networks/{id}', (ctx) => {
    const scope = ctx.query.get('scope');
    if (scope && !['local', 'global', 'swarm'].includes(scope)) throw invalid(`invalid scope: ${scope}`);
    boolParam(ctx.query, 'verbose'); // only meaningful for swarm-scope networks
    const net = registry.findNetwork(ctx.params.id);
    if (scope && net.scope !== scope) throw notFound(`network ${ctx.params.id} not found`);
    return networkJson(net, registry, true);
  });

  router.add('POST', '/networks/create', async (ctx) => {
    const body = parse(NetworkCreateSchema, await ctx.body());
    const net = await networks.create({
      ...body,
      EnableIPv6: body.EnableIPv6 ?? false,
      IPAM: body.IPAM ? { Driver: body.IPAM.Driver, Config: (body.IPAM.Config ?? []) as never, Options: body.IPAM.Options ?? {} } : null,
    });
    return new Reply(201, { Id: net.id, Warning: '' });
  });

  router.add('DELETE', '/networks/{id}', async (ctx) => {
    await networks.remove(ctx.params.id);
    return new Reply(204);
  });

  router.add('POST', '/networks/{id}/connect', async (ctx) => {
    const body = parse(NetworkConnectSchema, await ctx.body());
    await connections.connect(ctx.params.id, body.Container, (body.EndpointConfig ?? null) as EndpointSettings | null);
    return new Reply(200);
  });

  router.add('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = parse(NetworkDisconnectSchema, await ctx.body());
    await connections.disconnect(ctx.params.id, body.Container);
    return new Reply(200);
  });

  router.add('POST', '/networks/prune', async (ctx) => {
    const removed = await networks.prune(parseFilters(ctx.query.get('filters')));
    return { NetworksDeleted: removed };
  });
}
