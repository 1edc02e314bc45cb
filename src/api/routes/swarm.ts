import type { Cluster } from '../../cluster/cluster.js';
import { msg, unavailable } from '../../cluster/messages.js';
import type { Swarm } from '../../cluster/swarm.js';
import { inspectNode, inspectSwarm, listNodes, removeNode, requireManager, updateNode, updateSwarm } from '../../cluster/swarm-admin.js';
import type { NodeSpec, SwarmSpec } from '../../cluster/records.js';
import { parseFilters, checkFilterKeys } from '../../engine/filters.js';
import { boolParam, type Router } from '../router.js';
import { NodeSpecSchema, parse, SwarmInitSchema, SwarmJoinSchema, SwarmSpecSchema } from '../schemas.js';
import { Reply } from '../server.js';

// Swarm mode's membership endpoints. Without a swarm (no swarm state, or weftd runs with
// --cluster-store) they answer exactly as a dockerd that is not in a swarm.

export function swarmRoutes(router: Router, swarm: Swarm | null, cluster: Cluster): void {
  /** The swarm, or Docker's answer for a node outside one (with --cluster-store: never in one). */
  const active = (): Swarm => {
    if (!swarm || swarm.role === 'none') throw unavailable(msg.notManagerInactive);
    return swarm;
  };
  const storeMode = () => {
    // A --cluster-store node cannot also be a swarm node (dockerd refused the combination too).
    if (!swarm) throw unavailable(`This node is using an external cluster store (${cluster.mode}); swarm mode is not available`);
    return swarm;
  };

  router.add('POST', '/swarm/init', async (ctx) => {
    const body = parse(SwarmInitSchema, await ctx.body());
    return storeMode().init({ ...body, Spec: body.Spec as Partial<SwarmSpec> | undefined });
  });

  router.add('POST', '/swarm/join', async (ctx) => {
    await storeMode().join(parse(SwarmJoinSchema, await ctx.body()));
    return new Reply(200);
  });

  router.add('POST', '/swarm/leave', async (ctx) => {
    if (!swarm || swarm.role === 'none') throw unavailable(msg.notInSwarm);
    await swarm.leave(boolParam(ctx.query, 'force'));
    return new Reply(200);
  });

  router.add('GET', '/swarm', () => inspectSwarm(active()));

  router.add('POST', '/swarm/update', async (ctx) => {
    const s = active();
    requireManager(s);
    await updateSwarm(s, ctx.query, parse(SwarmSpecSchema, await ctx.body()) as Partial<SwarmSpec>);
    return new Reply(200);
  });

  router.add('GET', '/swarm/unlockkey', () => {
    requireManager(active());
    return { UnlockKey: '' }; // weft does not encrypt manager state (autolock is off, as by default)
  });

  router.add('GET', '/nodes', (ctx) => {
    const s = active();
    requireManager(s);
    const filters = parseFilters(ctx.query.get('filters'));
    checkFilterKeys(filters, ['id', 'name', 'role', 'label', 'membership', 'node.label']);
    return listNodes(s, Object.fromEntries(filters));
  });

  router.add('GET', '/nodes/{id}', (ctx) => inspectNode(active(), ctx.params.id));

  router.add('DELETE', '/nodes/{id}', async (ctx) => {
    await removeNode(active(), ctx.params.id, boolParam(ctx.query, 'force'));
    return new Reply(200);
  });

  router.add('POST', '/nodes/{id}/update', async (ctx) => {
    const spec = parse(NodeSpecSchema, await ctx.body()) as Partial<NodeSpec>;
    await updateNode(active(), ctx.params.id, ctx.query, spec);
    return new Reply(200);
  });
}
