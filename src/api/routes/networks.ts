import type { Engine } from '../../engine/engine.js';
import type { Cluster } from '../../cluster/cluster.js';
import { msg } from '../../cluster/messages.js';
import type { EndpointSettings } from '../../engine/attachments.js';
import type { IpamPoolConfig } from '../../common/model.js';
import { forbidden, notFound, systemError } from '../../common/errors.js';
import { parseFilters } from '../../engine/filters.js';
import { networkJson } from '../format/network.js';
import { compareVersions, type Router } from '../router.js';
import { NetworkConnectSchema, NetworkCreateSchema, NetworkDisconnectSchema, NetworkInspectQuerySchema, parse } from '../schemas.js';
import { Reply } from '../server.js';

export function networkRoutes(router: Router, engine: Engine, cluster?: Cluster): void {
  const { registry, networks, connections } = engine;

  router.add('GET', '/networks', (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    // Before API 1.28 the list carried each network's containers, as inspect does.
    const detailed = compareVersions(ctx.version, '1.28') < 0;
    return networks.list(filters).map((n) => networkJson(n, registry, detailed));
  });

  router.add('GET', '/networks/{id}', (ctx) => {
    const { scope } = parse(NetworkInspectQuerySchema, Object.fromEntries(ctx.query));
    const net = registry.findNetwork(ctx.params.id, 'get');
    // Every weft network is local: a scope other than the network's is simply not found (dockerd
    // does the same for unknown scopes); verbose only adds swarm service details.
    if (scope && net.scope !== scope) throw notFound(`network ${ctx.params.id} not found`);
    return networkJson(net, registry, true);
  });

  router.add('POST', '/networks/create', async (ctx) => {
    const body = parse(NetworkCreateSchema, await ctx.body());
    // An overlay needs a cluster: outside one, dockerd answers 500 with its swarm text.
    if (body.Driver === 'overlay' && cluster && cluster.mode === 'none') throw systemError(msg.notManagerInactive);
    if (body.Driver === 'overlay' && cluster?.mode === 'swarm' && cluster.role === 'worker') {
      throw forbidden('Cannot create a multi-host network from a worker node. Please create the network from a manager node.');
    }
    // Swarm's networks say so (scope "swarm"); a --cluster-store's are "global".
    const scope = body.Driver === 'overlay' && cluster?.mode === 'swarm' ? 'swarm' : body.Scope;
    // API 1.44 deprecated CheckDuplicate: the daemon always checks. Before, off means a second
    // network of the same name is made, with a warning.
    const checkDuplicate = compareVersions(ctx.version, '1.44') >= 0 || body.CheckDuplicate === true;
    const existing = registry.networks.all().find((n) => n.name === body.Name);
    const net = await networks.create({
      ...body,
      Scope: scope,
      CheckDuplicate: checkDuplicate,
      EnableIPv6: body.EnableIPv6 ?? false,
      IPAM: body.IPAM ? { Driver: body.IPAM.Driver, Config: (body.IPAM.Config ?? []) as IpamPoolConfig[], Options: body.IPAM.Options ?? null } : null,
    });
    const warning = existing ? `Network with name ${existing.name} (id : ${existing.id}) already exists` : '';
    return new Reply(201, { Id: net.id, Warning: warning });
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
    await connections.disconnect(ctx.params.id, body.Container, body.Force ?? false);
    return new Reply(200);
  });

  router.add('POST', '/networks/prune', async (ctx) => {
    const removed = await networks.prune(parseFilters(ctx.query.get('filters')));
    return { NetworksDeleted: removed.length ? removed : null };
  });
}
