import type { ServerResponse } from 'node:http';
import type { Engine } from '../../engine/engine.js';
import { eventMatches, parseEventTime, serializeDockerEvent, type DockerEvent } from '../../engine/events/index.js';
import { parseFilters } from '../../engine/filters.js';
import { API_VERSION, type Router } from '../router.js';

// GET /events, as dockerd answers it (api/server/router/system getEvents): the kept events since
// `since` (and up to `until`), then, unless `until` is already past, the live ones until `until`
// or until the client goes away. One JSON object per line, written as it happens.

export function eventRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/events', (ctx, res) => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const sinceRaw = ctx.query.get('since');
    const untilRaw = ctx.query.get('until');
    const since = sinceRaw ? parseEventTime(sinceRaw, now) : null;
    const until = untilRaw ? parseEventTime(untilRaw, now) : null;
    const filters = parseFilters(ctx.query.get('filters'));
    const wanted = (ev: DockerEvent) => eventMatches(filters, ev);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux' });
    res.flushHeaders();
    const write = (ev: DockerEvent) => {
      if (!res.writableEnded && !res.destroyed) res.write(serializeDockerEvent(ev));
    };
    const past = since !== null ? engine.events.past(since, until).filter(wanted) : [];
    for (const ev of past) write(ev);
    if (until !== null && until <= now) {
      res.end();
      return;
    }
    streamLive(engine, res, wanted, write, until === null ? null : Number((until - now) / 1_000_000n));
  });
}

function streamLive(engine: Engine, res: ServerResponse, wanted: (ev: DockerEvent) => boolean, write: (ev: DockerEvent) => void, endInMs: number | null): void {
  const unsubscribe = engine.events.subscribeDocker((ev) => {
    if (wanted(ev)) write(ev);
  });
  const timer = endInMs === null ? null : setTimeout(() => finish(), endInMs);
  const finish = () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  res.on('close', finish);
  res.on('error', finish);
}
