import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../../engine/engine.js';
import { conflict, invalid, systemError } from '../../common/errors.js';
import { nowRfc3339Nano } from '../../common/time.js';
import { ZERO_TIME, type ContainerRecord } from '../../common/model.js';
import { readSample, cgroupPids, type CpuStats, type Sample } from '../../runtime/stats/sample.js';
import { top, validatePsArgs } from '../../runtime/stats/top.js';
import { boolParam, type Router } from '../router.js';
import { commonHeaders } from '../hijack.js';

// GET /containers/{id}/stats and /top, as dockerd answers them (daemon/stats.go, top_unix.go).
// Stats: one sample a second while streaming, each carrying the previous one's CPU figures as
// precpu_stats, so that clients compute CPU % from the pair; stream=false waits for a second
// sample (so `docker stats --no-stream` has a CPU %), one-shot=true answers the first at once.
// A stream ends with its request: the client leaving aborts the request's signal.

const INTERVAL_MS = 1000;

const ZERO_CPU: CpuStats = {
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
};

const EMPTY_BLKIO = {
  io_service_bytes_recursive: null,
  io_serviced_recursive: null,
  io_queue_recursive: null,
  io_service_time_recursive: null,
  io_wait_time_recursive: null,
  io_merged_recursive: null,
  io_time_recursive: null,
  sectors_recursive: null,
};

interface Frame {
  read: string;
  sample: Sample | null;
}

function statsJson(c: ContainerRecord, cur: Frame, prev: Frame | null): Record<string, unknown> {
  const s = cur.sample;
  return {
    read: s ? cur.read : ZERO_TIME,
    preread: prev?.sample ? prev.read : ZERO_TIME,
    pids_stats: s?.pids_stats ?? {},
    blkio_stats: { ...EMPTY_BLKIO, ...(s?.blkio_stats ?? {}) },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: s?.cpu_stats ?? ZERO_CPU,
    precpu_stats: prev?.sample?.cpu_stats ?? ZERO_CPU,
    memory_stats: s?.memory_stats ?? {},
    name: `/${c.name}`,
    id: c.id,
    ...(s?.networks ? { networks: s.networks } : {}),
  };
}

type Sampler = typeof readSample;

async function sampleOf(engine: Engine, id: string, sampler: Sampler): Promise<Frame> {
  const c = engine.registry.containers.byId.get(id);
  const read = nowRfc3339Nano();
  if (!c || c.state.status !== 'running' || !c.state.pid) return { read, sample: null };
  const hostNet = engine.sandboxes.kind(c) === 'host';
  const ifnames = new Set(engine.registry.endpointsOfContainer(c.id).map((ep) => ep.ifname));
  return { read, sample: await sampler(c.state.pid, { interfaces: hostNet ? null : (name) => ifnames.has(name) }) };
}

async function stream(engine: Engine, c: ContainerRecord, res: ServerResponse, signal: AbortSignal, sampler: Sampler): Promise<void> {
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
  res.flushHeaders();
  let prev: Frame | null = null;
  while (!signal.aborted && !res.destroyed) {
    const cur = await sampleOf(engine, c.id, sampler);
    if (signal.aborted || res.destroyed) break;
    // The record of now: a rename shows in the next frame, as with dockerd.
    res.write(JSON.stringify(statsJson(engine.registry.containers.byId.get(c.id) ?? c, cur, prev)) + '\n');
    prev = cur;
    await sleep(INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
  if (!res.writableEnded) res.end();
}

/** sampler: how a sample is read (tests count the reads). */
export function statsRoutes(router: Router, engine: Engine, sampler: Sampler = readSample): void {
  const { registry } = engine;

  router.add('GET', '/containers/{id}/stats', async (ctx, res) => {
    const c = registry.findContainer(ctx.params.id);
    const streaming = boolParam(ctx.query, 'stream', true);
    const oneShot = boolParam(ctx.query, 'one-shot');
    if (oneShot && streaming) throw invalid('cannot have stream=true and one-shot=true');
    if (streaming) return stream(engine, c, res, ctx.signal, sampler);
    // Not running and not streaming: an empty sample, as dockerd answers.
    if (c.state.status !== 'running') return { ...statsJson(c, { read: ZERO_TIME, sample: null }, null), read: ZERO_TIME };
    const first = await sampleOf(engine, c.id, sampler);
    if (oneShot) return statsJson(c, first, null);
    await sleep(INTERVAL_MS, undefined, { signal: ctx.signal });
    return statsJson(c, await sampleOf(engine, c.id, sampler), first);
  });

  router.add('GET', '/containers/{id}/top', async (ctx) => {
    const c = registry.findContainer(ctx.params.id);
    const psArgs = ctx.query.get('ps_args') || '-ef';
    const bad = validatePsArgs(psArgs);
    if (bad) throw invalid(bad);
    if (c.state.status !== 'running' || !c.state.pid) throw conflict(`Container ${c.id} is not running`);
    const pids = await cgroupPids(c.state.pid);
    if (!pids) throw conflict(`Container ${c.id} is not running`);
    try {
      return await top(psArgs, pids);
    } catch (err) {
      throw systemError(`Error running ps: ${(err as Error).message}`);
    }
  });
}
