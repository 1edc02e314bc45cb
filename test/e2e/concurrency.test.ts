import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from '../helpers/daemons.js';
import { expectedState, planClients, type PlanOptions, type Step } from './concurrency-plan.js';
import { apiClient, describeStep, judgeAnswer, runClients, type StepRecord } from './concurrency-clients.js';
import { apiView, checkExpected, checkKernel, diffViews, storeView, type View } from './concurrency-state.js';
import { checkConsistency } from '../helpers/consistency.js';

// Issue 11: concurrency. 50 clients at once (45 on the Engine API over keep-alive connections,
// 5 running the docker CLI) create and remove networks, run, connect, disconnect and remove
// containers on shared networks, and race each other for names. Every answer must be the one
// Docker gives (success, or its 403/409 and the one 500 of disconnecting what is not
// connected), no SQLite error may reach a client, everything must finish within the bound, and
// the final state must be the sum of what succeeded, in the API, in the store, in the kernel,
// and again after a restart.
//
//   WEFT_CONCURRENCY_SEED=<n>   the plan (default 11)    WEFT_CONCURRENCY_CLIENTS=<n>  (default 50)

const SEED = Number(process.env.WEFT_CONCURRENCY_SEED ?? 11);
const CLIENTS = Number(process.env.WEFT_CONCURRENCY_CLIENTS ?? 50);
const OPTS: PlanOptions = { clients: CLIENTS, cliClients: Math.max(1, Math.round(CLIENTS / 10)), stepsPerClient: 10, shared: ['shared-0', 'shared-1', 'shared-2', 'shared-3'], races: 5 };
const BOUND_MS = 240_000; // the whole workload; no single answer may take longer either

describe('concurrency (weft)', { timeout: 900_000 }, () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon('weft');
  });
  after(async () => {
    await d?.stop();
  });

  test(`${CLIENTS} clients at once: Docker's answers, no lost or doubled state, same after a restart`, async () => {
    const setup = apiClient(d, 30_000);
    const sentinels = new Map<string, string>();
    for (const [i, net] of OPTS.shared.entries()) {
      const ok = (a: { ok: boolean; status: number; text: string }) => assert.ok(a.ok, `${a.status} ${a.text}`);
      ok(await setup.call('POST', '/networks/create', { Name: net, CheckDuplicate: true }));
      ok(await setup.call('POST', `/containers/create?name=sentinel-${i}`, { Image: 'busybox', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: net } }));
      ok(await setup.call('POST', `/containers/sentinel-${i}/start`));
      sentinels.set(net, `sentinel-${i}`);
    }
    setup.close();

    const plans = planClients(SEED, OPTS);
    const started = performance.now();
    const inFlight = new Map<number, string>();
    const hung = () => [...inFlight].map(([c, step]) => `client ${c}: ${step}`).join('\n');
    const records = await Promise.race([
      runClients(d, plans, BOUND_MS, inFlight),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the clients did not finish within ${BOUND_MS} ms, still waiting:\n${hung()}\n${d.logTail(20)}`)), BOUND_MS).unref()),
    ]);
    const wall = performance.now() - started;
    const ms = records.map((r) => r.ms).sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(0);
    const refused = records.filter((r) => !r.answer.ok).length;
    console.log(
      `# concurrency: ${CLIENTS} clients (${OPTS.cliClients} docker CLI), ${records.length} steps (${refused} refused as planned or lost races) in ${(wall / 1000).toFixed(1)} s; ` +
        `latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`,
    );

    const problems = records.map(judgeAnswer).filter((x): x is string => x !== null);
    const winners = raceWinners(records, problems);
    const unexpected5xx = records.filter((r) => !r.cli && !r.expect && r.answer.status >= 500); // judgeAnswer covers the planned steps
    problems.push(...unexpected5xx.map((r) => `a 5xx where Docker answers none: ${describeStep(r.step)}: ${r.answer.status} ${r.answer.text}`));

    // Races first (every client ran them before its own steps), then each client's in order.
    const succeeded = [...winners, ...records.filter((r) => r.expect && r.answer.ok).map((r) => r.step)];
    const expected = expectedState(succeeded, OPTS, sentinels);
    const before = await apiView(d, problems);
    problems.push(...checkExpected(expected, before).map((p) => `api: ${p}`));
    const store = storeView(d, problems);
    problems.push(...diffViews('api', before, 'store', store.view));
    problems.push(...(await checkKernel(d, store)));
    // The crash test's checker too: nft elements, MACs, mounts, conmons, runtime files (no pings: ~110 containers).
    problems.push(...(await checkConsistency(d, { reachability: false })).problems);
    assert.deepEqual(problems, [], `seed ${SEED}: ${problems.length} problems (workload ${(wall / 1000).toFixed(1)} s)`);

    await d.restart();
    const restartProblems: string[] = [];
    const afterRestart = await apiView(d, restartProblems);
    restartProblems.push(...diffViews('before restart', before, 'after restart', afterRestart));
    restartProblems.push(...(await checkKernel(d, storeView(d, restartProblems))));
    restartProblems.push(...(await checkConsistency(d, { reachability: false })).problems);
    assert.deepEqual(restartProblems, [], `seed ${SEED}, after a restart`);

    const teardown = await removeEverything(d, afterRestart);
    console.log(`# concurrency: final state ${afterRestart.containers.size} containers on ${afterRestart.networks.size} networks, all removed at once in ${(teardown.ms / 1000).toFixed(1)} s`);
    assert.deepEqual(teardown.problems, [], 'removing everything at once');

  });
});

/**
 * Every container removed at once (each twice, by two clients: one removes it, the other is told
 * it is already being removed or gone), then every network; afterwards nothing of them may be
 * left in the kernel.
 */
async function removeEverything(d: Daemon, view: View): Promise<{ problems: string[]; ms: number }> {
  const problems: string[] = [];
  const clients = Array.from({ length: 2 }, () => apiClient(d, BOUND_MS));
  const t0 = performance.now();
  try {
    await Promise.all(
      [...view.containers.keys()].map(async (name) => {
        const answers = await Promise.all(clients.map((c) => c.call('DELETE', `/containers/${name}?force=1`)));
        const ok = answers.filter((a) => a.status === 204).length;
        const others = answers.filter((a) => a.status !== 204);
        if (ok !== 1 || others.some((a) => !(a.status === 409 && /already in progress/.test(a.text)) && a.status !== 404)) {
          problems.push(`rm -f ${name} twice at once: ${answers.map((a) => `${a.status} ${a.text.trim()}`).join(' / ')}`);
        }
      }),
    );
    const gone = await Promise.all([...view.networks.keys()].map((n) => clients[0].call('DELETE', `/networks/${n}`)));
    problems.push(...gone.filter((a) => a.status !== 204).map((a) => `network rm: ${a.status} ${a.text}`));
  } finally {
    for (const c of clients) c.close();
  }
  const ms = performance.now() - t0;
  const store = storeView(d, problems);
  if (store.endpoints.length) problems.push(`${store.endpoints.length} endpoints left in the store`);
  problems.push(...(await checkKernel(d, store)));
  problems.push(...(await checkConsistency(d)).problems);
  return { problems, ms };
}

/** Each raced name has exactly one winner; the losers were told the name is taken. */
function raceWinners(records: StepRecord[], problems: string[]): Step[] {
  const byName = new Map<string, StepRecord[]>();
  for (const r of records.filter((x) => !x.expect)) {
    const name = r.step.kind === 'run' || r.step.kind === 'net-create' ? r.step.name : '';
    byName.set(name, [...(byName.get(name) ?? []), r]);
  }
  const winners: Step[] = [];
  for (const [name, rs] of byName) {
    const won = rs.filter((r) => r.answer.ok);
    if (won.length !== 1) problems.push(`race for ${name}: ${won.length} winners`);
    winners.push(...won.map((r) => r.step));
    for (const r of rs.filter((x) => !x.answer.ok)) {
      if (!/already exists|already in use/.test(r.answer.text) || (!r.cli && r.answer.status !== 409)) problems.push(`race for ${name}: a loser got ${r.answer.status} ${r.answer.text.slice(0, 200)}`);
    }
  }
  return winners;
}
