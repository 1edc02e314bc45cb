import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FAULT_POINTS, mulberry32 } from '../../src/common/faults.js';
import { startDaemon, weftdBuilt } from '../helpers/daemons.js';
import { checkConsistency } from '../helpers/consistency.js';
import { readStore, type StoreState } from '../helpers/kernel-view.js';
import { until, sleep } from '../helpers/clients.js';
import { ApiFailure, pickOp, preferredFor, readModel, type Model, type Op } from './crash-workload.js';

// Issue 11, crash consistency: weftd is SIGKILLed at >= 100 kill points inside network create/rm,
// connect/disconnect and container create/start/stop/rm: at each of the 22 fault points (twice:
// at its first and its second visit), at the k-th point reached whichever it is, at points drawn
// by WEFT_FAULT_RANDOM, and from outside after a random delay while 1-3 operations are in flight.
// After each restart test/helpers/consistency.ts checks that the store and the kernel agree, that
// no address is held twice and that running containers reach their gateways and peers; two keeper
// containers must keep their process and addresses through every crash; each operation cut short
// either completed or its retry succeeds. At the end every container is removed and the daemon's
// teardown finds nothing left.
//
// One daemon, one namespace and one data root for the whole run: each kill costs one restart
// (~0.5-1 s), which also arms the next kill. WEFT_CRASH_POINTS=<n> (default 100) kills more,
// WEFT_CRASH_SEED=<n> replays a run (the seed is printed).

const TARGET = Number(process.env.WEFT_CRASH_POINTS ?? 100);
const SEED = Number(process.env.WEFT_CRASH_SEED ?? Date.now() % 100000);
const POINTS = Object.keys(FAULT_POINTS);
const OPS_PER_CYCLE = 25;

type Mode = 'point' | 'nth' | 'random' | 'timed';
interface Plan {
  mode: Mode;
  env: NodeJS.ProcessEnv;
  point?: string;
}

function planFor(i: number, rand: () => number): Plan {
  if (i < POINTS.length * 2) {
    const point = POINTS[i % POINTS.length];
    return { mode: 'point', point, env: { WEFT_FAULTS: `${point}=kill@${i < POINTS.length ? 1 : 2}` } };
  }
  const mode = (['nth', 'timed', 'random'] as const)[i % 3];
  if (mode === 'nth') return { mode, env: { WEFT_FAULTS: `*=kill@${1 + Math.floor(rand() * 12)}` } };
  if (mode === 'random') return { mode, env: { WEFT_FAULT_RANDOM: `${Math.floor(rand() * 1e6)}:0.15` } };
  return { mode, env: {} };
}

interface Stats {
  kills: number;
  byMode: Record<Mode | 'recovery', number>;
  points: Map<string, number>;
  idleKills: number;
  missed: string[];
  checks: number;
  retries: number;
  cycles: number;
  /** 4xx answers (the model raced something; not a crash's doing). */
  rejected: string[];
  /** Milliseconds spent starting weftd, checking, and in operations. */
  ms: { start: number; check: number; ops: number };
  /** Running containers the kills' operations did not touch, compared before and after (keepers included). */
  kept: number;
}

test(`crash consistency: weftd SIGKILLed at ${TARGET} points inside network and container operations, checked after every restart`, { timeout: Math.max(600_000, TARGET * 6000), skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  console.log(`seed ${SEED}, target ${TARGET} kill points`);
  const t0 = performance.now();
  const rand = mulberry32(SEED);
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const problems: string[] = [];
  const stats: Stats = { kills: 0, byMode: { point: 0, nth: 0, random: 0, timed: 0, recovery: 0 }, points: new Map(), idleKills: 0, missed: [], checks: 0, retries: 0, cycles: 0, rejected: [], ms: { start: 0, check: 0, ops: 0 }, kept: 0 };

  // Two keepers that no operation touches: every crash must leave them running, with their
  // process, their addresses and their reachability (the checker pings k1 <-> k2).
  await d.dockerOk(['network', 'create', '--subnet', '10.92.0.0/24', 'keepnet']);
  await d.dockerOk(['run', '-d', '--name', 'k1', '--network', 'keepnet', 'alpine', 'sleep', '100000']);
  await d.dockerOk(['run', '-d', '--name', 'k2', '--network', 'keepnet', 'alpine', 'sleep', '100000']);
  await d.dockerOk(['network', 'connect', 'bridge', 'k2']);
  const keepers = new Map<string, string>();
  for (const k of ['k1', 'k2']) keepers.set(k, await d.dockerOk(['inspect', '-f', '{{.State.Pid}}{{range $n, $e := .NetworkSettings.Networks}} {{$n}}={{$e.IPAddress}}{{end}}', k]));

  let logOffset = 0;
  /** Fault points weftd logged since the last call. */
  const faultsLogged = (): string[] => {
    const text = readFileSync(d.logFile, 'utf8');
    const fresh = text.slice(logOffset);
    logOffset = text.length;
    return [...fresh.matchAll(/"faultPoint":"([^"]+)"/g)].map((m) => m[1]);
  };
  const killed = (mode: Mode | 'recovery', point: string | undefined) => {
    stats.kills++;
    stats.byMode[mode]++;
    if (point) stats.points.set(point, (stats.points.get(point) ?? 0) + 1);
  };
  const dead = (ms: number) => until(() => d.pid() === undefined, ms);
  const nets = (m: Model) => ['bridge', 'keepnet', ...m.nets.keys()];
  let inflight: Op[] = [];
  let lastKill = 'start';
  // The records just before the operation(s) the next kill may cut short, and what those touch:
  // every other running container must come out of the kill with its process and addresses.
  let snap: { store: StoreState; touched: Set<string> } | null = null;
  const snapshot = (ops: Op[]) => (snap = { store: readStore(d), touched: new Set(ops.flatMap((o) => o.touches)) });
  const addresses = (s: StoreState, id: string) =>
    s.endpoints
      .filter((e) => e.containerId === id)
      .map((e) => `${s.networks.find((n) => n.id === e.networkId)?.name}=${e.ipv4.split('/')[0]}`)
      .sort()
      .join(' ');

  /** Starts weftd armed with `env`; a kill during its recovery counts, and then it starts unarmed. */
  const start = async (env: NodeJS.ProcessEnv): Promise<boolean> => {
    const t1 = performance.now();
    try {
      await d.restart(env);
      stats.ms.start += performance.now() - t1;
      return true;
    } catch (err) {
      const pts = faultsLogged();
      if (!pts.length) throw err;
      killed('recovery', pts[0]);
      lastKill = `${pts[0]} during recovery`;
      await d.restart({});
      return false;
    }
  };

  /** Checks the restarted daemon; false when it died meanwhile (a fault point in exit handling). */
  const check = async (cycle: number): Promise<boolean> => {
    let res;
    const t1 = performance.now();
    try {
      res = await checkConsistency(d);
    } catch (err) {
      if (await dead(2000)) return false;
      throw err;
    } finally {
      stats.ms.check += performance.now() - t1;
    }
    stats.checks += res.checks;
    const where = `[cycle ${cycle}, after a kill at ${lastKill}; in flight: ${inflight.map((o) => o.label).join(', ') || 'none'}]`;
    problems.push(...res.problems.map((p) => `${where} ${p}`));
    if (res.problems.length) console.log(`${where}\n  ${res.problems.join('\n  ')}`);
    for (const c of snap?.store.containers.filter((x) => x.state.status === 'running' && !snap!.touched.has(x.name)) ?? []) {
      const now = res.store.containers.find((x) => x.id === c.id);
      const [was, is] = [`${c.state.pid} ${addresses(snap!.store, c.id)}`, now ? `${now.state.status} ${now.state.pid} ${addresses(res.store, c.id)}` : 'gone'];
      stats.checks++;
      stats.kept++;
      if (is !== `running ${was}`) problems.push(`${where} ${c.name}, running and untouched by the operations in flight, was "${was}", is "${is}"`);
    }
    for (const [k, want] of keepers) {
      const c = res.store.containers.find((x) => x.name === k);
      const eps = res.store.endpoints.filter((e) => e.containerId === c?.id);
      const got = `${c?.state.pid}${eps.map((e) => ` ${res.store.networks.find((n) => n.id === e.networkId)?.name}=${e.ipv4.split('/')[0]}`).sort().join('')}`;
      stats.checks++;
      if (c?.state.status !== 'running' || got.split(' ').sort().join(' ') !== want.split(' ').sort().join(' ')) problems.push(`${where} keeper ${k} is ${c?.state.status ?? 'gone'} "${got}", was "${want}"`);
    }
    return true;
  };

  /** Runs one op; returns 'killed' when the daemon died under it. Failures of retries and 5xx answers are problems. */
  const runOp = async (op: Op, retry: boolean): Promise<'ok' | 'failed' | 'killed'> => {
    const t1 = performance.now();
    snapshot([op]);
    try {
      await op.run(d);
      return (await dead(0)) ? 'killed' : 'ok';
    } catch (err) {
      if (await dead(2000)) return 'killed';
      if (!retry && err instanceof ApiFailure && err.status < 500) stats.rejected.push(err.message);
      else problems.push(`[after a kill at ${lastKill}] ${retry ? 'retry of an operation cut short failed: ' : ''}${(err as Error).message}`);
      return 'failed';
    } finally {
      stats.ms.ops += performance.now() - t1;
    }
  };

  for (let i = 0; stats.kills < TARGET && i < TARGET * 2; i++) {
    stats.cycles++;
    const plan = planFor(i, rand);
    if (!(await start(plan.env))) {
      await check(i); // it died recovering: check the unarmed restart's recovery
      continue;
    }
    if (!(await check(i))) {
      killed(plan.mode, faultsLogged()[0]);
      continue;
    }
    let model = await readModel(d);
    const retries = inflight.map((op) => op.settle(model)).filter((op): op is Op => op !== null);
    inflight = [];
    let died = false;
    for (const op of retries) {
      stats.retries++;
      const r = await runOp(op, true);
      if (r === 'killed') {
        inflight = [op];
        died = true;
        break;
      }
    }
    if (died) {
      const pt = faultsLogged()[0];
      killed(plan.mode === 'timed' ? 'nth' : plan.mode, pt);
      lastKill = pt ?? 'unknown';
      continue;
    }
    model = await readModel(d);

    if (plan.mode === 'timed') {
      // 1-3 operations on disjoint objects at once, SIGKILL from outside after a random delay;
      // when they all finished before it, another batch (the kill must land inside one).
      let during: Op[] = [];
      for (let batch = 0; batch < 5 && during.length === 0; batch++) {
        const busy = new Set<string>();
        const ops: Op[] = [];
        for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
          const op = pickOp(model, rand, [], busy, nets(model));
          if (!op) break;
          op.touches.forEach((x) => busy.add(x));
          ops.push(op);
        }
        snapshot(ops);
        const pending = new Set(ops);
        let killing = false;
        const failedEarly = (err: unknown) => {
          if (err instanceof ApiFailure && err.status < 500) stats.rejected.push(err.message);
          else problems.push(`[after a kill at ${lastKill}] ${(err as Error).message}`);
        };
        const runs = ops.map((op) =>
          op.run(d).then(
            () => pending.delete(op),
            (err) => {
              if (killing) return; // the kill's doing
              pending.delete(op);
              failedEarly(err);
            },
          ),
        );
        await sleep(Math.floor(rand() * 150)); // most operations take 20-400 ms here
        during = [...pending];
        killing = true;
        const last = batch === 4;
        if (during.length || last) await d.kill9();
        await Promise.all(runs);
        if (!during.length && !last) model = await readModel(d); // the last batch's kill left no daemon to ask
      }
      faultsLogged();
      inflight = during;
      lastKill = `a timed SIGKILL during ${during.map((o) => o.label).join(', ') || 'no operation'}`;
      if (during.length) killed('timed', undefined);
      else stats.idleKills++;
      continue;
    }

    for (let n = 0; n < OPS_PER_CYCLE && !died; n++) {
      const op = pickOp(model, rand, plan.point ? preferredFor(plan.point) : [], new Set(), nets(model));
      if (!op) break;
      const r = await runOp(op, false);
      if (r === 'killed') {
        inflight = [op];
        died = true;
      } else model = await readModel(d);
    }
    if (!died) {
      stats.missed.push(plan.point ?? plan.env.WEFT_FAULTS ?? plan.env.WEFT_FAULT_RANDOM ?? plan.mode);
      continue; // the next start stops this one
    }
    const pt = faultsLogged()[0];
    killed(plan.mode, pt);
    lastKill = pt ?? 'unknown';
  }

  // The end: an unarmed restart, a last check, the cut-short operations finished, then every
  // container and network removed, and nothing of theirs left.
  await d.restart({});
  await check(stats.cycles);
  const model = await readModel(d);
  for (const op of inflight.map((o) => o.settle(model)).filter((o): o is Op => o !== null)) {
    stats.retries++;
    await runOp(op, true);
  }
  const list = (await d.api('GET', '/containers/json?all=1')).json as { Id: string; Names: string[] }[];
  await Promise.all(
    list.map(async (c) => {
      const r = await d.api('DELETE', `/containers/${c.Id}?force=1`);
      stats.checks++;
      if (r.status !== 204) problems.push(`final: rm -f ${c.Names[0]} answered ${r.status} ${r.text}`);
    }),
  );
  for (const n of ['keepnet', ...(await readModel(d)).nets.keys()]) {
    const r = await d.api('DELETE', `/networks/${n}`);
    stats.checks++;
    if (r.status !== 204) problems.push(`final: network rm ${n} answered ${r.status} ${r.text}`);
  }
  const end = await checkConsistency(d);
  stats.checks += end.checks;
  problems.push(...end.problems.map((p) => `[final, everything removed] ${p}`));
  stats.checks++;
  if (end.store.containers.length || end.store.networks.some((n) => !n.predefined)) problems.push(`final: records left: ${end.store.containers.map((c) => c.name)} ${end.store.networks.filter((n) => !n.predefined).map((n) => n.name)}`);

  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  const reached = POINTS.filter((p) => stats.points.has(p));
  console.log(
    `kill points reached: ${stats.kills} (fault point ${stats.byMode.point}, k-th point ${stats.byMode.nth}, random ${stats.byMode.random}, timed SIGKILL during an operation ${stats.byMode.timed}, during recovery ${stats.byMode.recovery}); ` +
      `${reached.length}/${POINTS.length} named points; ${stats.checks} checks (${stats.kept} of untouched running containers kept across a kill); ${stats.retries} retries of cut-short operations; ${stats.cycles} restarts; ${secs} s (starting weftd ${(stats.ms.start / 1000).toFixed(0)} s, checks ${(stats.ms.check / 1000).toFixed(0)} s, operations ${(stats.ms.ops / 1000).toFixed(0)} s; seed ${SEED})`,
  );
  console.log(`per point: ${POINTS.map((p) => `${p}=${stats.points.get(p) ?? 0}`).join(' ')}`);
  if (stats.missed.length) console.log(`armed but not reached within ${OPS_PER_CYCLE} operations: ${stats.missed.join(', ')}`);
  if (stats.rejected.length) console.log(`${stats.rejected.length} operations refused with a 4xx: ${[...new Set(stats.rejected)].slice(0, 8).join('; ')}`);
  if (stats.idleKills) console.log(`timed kills that found no operation in flight (not counted): ${stats.idleKills}`);

  assert.equal(problems.length, 0, `${problems.length} inconsistencies (seed ${SEED}):\n${problems.slice(0, 40).join('\n')}`);
  assert.ok(stats.kills >= TARGET, `${stats.kills} kill points reached, want ${TARGET} (seed ${SEED})`);
  if (TARGET >= POINTS.length * 2) assert.deepEqual(POINTS.filter((p) => !stats.points.has(p)), [], `fault points never reached (seed ${SEED})`);
});
