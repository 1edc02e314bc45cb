import { pipeline } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import { invalid } from '../../common/errors.js';
import { parseFilters, checkFilterKeys, matchLabels } from '../../engine/filters.js';
import type { ContainerRecord } from '../../common/model.js';
import { containerInspectJson, containerListJson } from '../format/container.js';
import { createWarnings } from '../../engine/ports.js';
import { boolParam, type Router } from '../router.js';
import { ContainerCreateSchema, parse } from '../schemas.js';
import { Reply } from '../server.js';
import { intParam, parseSignal } from '../params.js';
import { streamAttach } from './attach.js';

export function containerRoutes(router: Router, engine: Engine, logPathOf: (id: string) => string): void {
  const { registry, containers } = engine;

  router.add('POST', '/containers/create', async (ctx) => {
    const body = parse(ContainerCreateSchema, await ctx.body());
    const c = await containers.create(body as never, ctx.query.get('name') ?? undefined);
    return new Reply(201, { Id: c.id, Warnings: createWarnings(c, engine.sandboxes.kind(c) === 'host') });
  });

  router.add('GET', '/containers/json', (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    checkFilterKeys(filters, ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
    // daemon/list.go: a status no container can have is refused
    for (const v of filters.get('status') ?? []) if (!CONTAINER_STATES.includes(v)) throw invalid(`Unrecognised filter value for status: ${v}`);
    const all = boolParam(ctx.query, 'all');
    const limit = intParam(ctx.query, 'limit') ?? -1;
    let list = registry.containers.all().filter((c) => (all || filters.has('status') || c.state.status === 'running') && matches(engine, c, filters));
    list.sort((a, b) => (a.created < b.created ? 1 : -1));
    if (limit > 0) list = list.slice(0, limit);
    return list.map((c) => containerListJson(c, registry, ctx.version));
  });

  router.add('POST', '/containers/prune', async (ctx) => {
    const removed = await containers.prune(parseFilters(ctx.query.get('filters')));
    for (const id of removed) engine.execs.forgetContainer(id);
    return { ContainersDeleted: removed.length ? removed : null, SpaceReclaimed: 0 };
  });

  router.add('GET', '/containers/{id}/json', (ctx) => {
    const c = registry.findContainer(ctx.params.id);
    return containerInspectJson(c, registry, engine.opts.dataRoot, logPathOf(c.id), ctx.version, engine.sandboxes.kind(c) !== 'host');
  });

  router.add('POST', '/containers/{id}/start', async (ctx) => {
    const started = await containers.start(ctx.params.id);
    return new Reply(started ? 204 : 304);
  });

  router.add('POST', '/containers/{id}/stop', async (ctx) => {
    const t = intParam(ctx.query, 't') ?? intParam(ctx.query, 'timeout');
    const signal = ctx.query.get('signal');
    const stopped = await containers.stop(ctx.params.id, t ?? 10, signal ? parseSignal(signal) : 'SIGTERM');
    return new Reply(stopped ? 204 : 304);
  });

  router.add('POST', '/containers/{id}/restart', async (ctx) => {
    await containers.restart(ctx.params.id, intParam(ctx.query, 't') ?? 10);
    return new Reply(204);
  });

  router.add('POST', '/containers/{id}/rename', async (ctx) => {
    await containers.rename(ctx.params.id, ctx.query.get('name') ?? '');
    return new Reply(204);
  });

  router.add('POST', '/containers/{id}/kill', async (ctx) => {
    await containers.kill(ctx.params.id, parseSignal(ctx.query.get('signal') || 'SIGKILL'));
    return new Reply(204);
  });

  // {id*}: `docker rm --link parent/alias` sends the link's name unescaped.
  router.add('DELETE', '/containers/{id*}', async (ctx) => {
    if (boolParam(ctx.query, 'link')) {
      await containers.removeLink(ctx.params.id);
      return new Reply(204);
    }
    const c = registry.findContainer(ctx.params.id);
    await containers.remove(c.id, boolParam(ctx.query, 'force'));
    engine.execs.forgetContainer(c.id);
    return new Reply(204);
  });

  router.add('POST', '/containers/{id}/wait', async (ctx, res) => {
    const c = registry.findContainer(ctx.params.id);
    // The waiter goes when the request does: a client that leaves takes its waiter along.
    const done = containers.waitFor(c.id, ctx.query.get('condition') ?? 'not-running', ctx.signal);
    // Docker sends the head at once so that clients know the wait is registered.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.45' });
    res.flushHeaders();
    const code = await done;
    res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n');
  });

  router.add('POST', '/containers/{id}/resize', async (ctx) => {
    const c = registry.findContainer(ctx.params.id);
    const h = intParam(ctx.query, 'h');
    const w = intParam(ctx.query, 'w');
    if (h === null || w === null) throw invalid('strconv.Atoi: parsing "": invalid syntax');
    if (c.state.status === 'running') await engine.runtime.resize(c.id, h, w);
    return new Reply(200);
  });

  router.add('GET', '/containers/{id}/logs', async (ctx, res) => {
    const c = registry.findContainer(ctx.params.id);
    const q = ctx.query;
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    const tail = q.get('tail');
    const stream = engine.runtime.logs(
      c.id,
      {
        follow: boolParam(q, 'follow') && c.state.status === 'running',
        stdout,
        stderr,
        timestamps: boolParam(q, 'timestamps'),
        tail: tail === null || tail === 'all' || tail === '' ? 'all' : Number(tail),
        since: Number(q.get('since') ?? 0),
        until: Number(q.get('until') ?? 0),
      },
      c.config.Tty,
    );
    res.writeHead(200, { 'Content-Type': c.config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    // pipeline ends the read when the client leaves and the response when the read fails.
    pipeline(stream, res, () => undefined);
  });

  router.hijack('POST', '/containers/{id}/attach', (ctx, h) => streamAttach(engine, ctx, h));
}

const CONTAINER_STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** Go's filters.Match: a value that is no valid regexp matches nothing (it is no error). */
function regexMatches(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern).test(s);
  } catch {
    return false;
  }
}

function matches(engine: Engine, c: ContainerRecord, f: Map<string, string[]>): boolean {
  const any = (key: string, pred: (v: string) => boolean) => !f.has(key) || f.get(key)!.some(pred);
  return (
    any('status', (v) => v === c.state.status) &&
    any('id', (v) => c.id.startsWith(v)) &&
    any('name', (v) => regexMatches(v, `/${c.name}`)) &&
    any('exited', (v) => c.state.status === 'exited' && c.state.exitCode === Number(v)) &&
    any('ancestor', (v) => c.config.Image === v || c.imageId === v || `${c.config.Image}:latest` === v) &&
    any('network', (v) => {
      const net = engine.registry.lookupNetwork(v);
      return Boolean(net && c.networks.some((a) => a.networkId === net.id));
    }) &&
    matchLabels(f.get('label'), c.config.Labels ?? {})
  );
}
