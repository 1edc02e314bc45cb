import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { describeScenario, membership, randomScenario, type Scenario } from '../helpers/topology.js';
import { applyPhase, build, teardown } from './isolation-probe.js';
import { probeFrom, traceOf, verdictsByAddress, type Probe } from './trace-probe.js';

// `weft network trace` against real packets (issue 16): random topologies of the isolation tests
// (default bridge, internal and ICC-off networks, containers on several networks, a phase of
// live connects and disconnects). For every ordered pair A, B and every address of B, the
// trace's verdict (A's route, then the forward hook's live rules) must be what a ping and an
// HTTP GET from A to that address find, and with no hand-made change nothing may disagree with
// the records. A probe that disagrees is tried once more, slower, before it counts.
//   WEFT_TRACE_SEED=<n> (default 23), WEFT_TRACE_TOPOLOGIES=<n> (default 3)

const first = Number(process.env.WEFT_TRACE_SEED ?? 23);
const count = Number(process.env.WEFT_TRACE_TOPOLOGIES ?? 3);
const SIZE = { containers: 6, networks: 3, phases: 2, opsPerPhase: 3 };

async function checkPhase(d: Daemon, s: Scenario, phase: number): Promise<{ failures: string[]; pairs: number; probes: number }> {
  const names = s.containers.map((c) => c.name);
  const failures: string[] = [];
  let probes = 0;
  let pairs = 0;
  await Promise.all(
    names.map(async (a) => {
      const wanted: { b: string; addr: string; ping: boolean; http: boolean }[] = [];
      for (const b of names) {
        if (b === a) continue;
        pairs++;
        const [icmp, tcp] = await Promise.all([traceOf(d, a, b), traceOf(d, a, b, '80/tcp')]);
        for (const t of [icmp, tcp]) if (t.disagreements.length) failures.push(`${a} -> ${b}${t.port ? ` ${t.port}` : ''}: disagreements without any hand edit: ${t.disagreements.join('; ')}`);
        const ping = verdictsByAddress(icmp);
        const http = verdictsByAddress(tcp);
        const hasAddress = icmp.steps.some((x) => x.step === 'shared networks') && !/ on no network$/.test(icmp.steps.find((x) => x.step === 'shared networks')!.detail);
        if (ping.size === 0 && hasAddress) failures.push(`${a} -> ${b}: the trace names no address of ${b}: ${JSON.stringify(icmp.steps)}`);
        for (const [addr, ok] of ping) wanted.push({ b, addr, ping: ok, http: http.get(addr) ?? false });
        if (icmp.reachable !== [...ping.values()].some(Boolean)) failures.push(`${a} -> ${b}: reachable=${icmp.reachable} but the addresses say ${[...ping]}`);
      }
      const list: Probe[] = wanted.flatMap((w) => [{ kind: 'ping' as const, target: w.addr }, { kind: 'http' as const, target: w.addr }]);
      probes += list.length;
      let seen = await probeFrom(d, a, list);
      const wrong = () => wanted.filter((w) => seen.get(`ping ${w.addr}`) !== w.ping || seen.get(`http ${w.addr}`) !== w.http);
      if (wrong().length) {
        const again = await probeFrom(d, a, wrong().flatMap((w) => [{ kind: 'ping' as const, target: w.addr }, { kind: 'http' as const, target: w.addr }]), true);
        seen = new Map([...seen, ...again]);
      }
      for (const w of wrong()) {
        failures.push(`${a} -> ${w.b} ${w.addr}: trace says ping ${w.ping ? 'passes' : 'blocked'}, http ${w.http ? 'passes' : 'blocked'}; packets: ping ${seen.get(`ping ${w.addr}`) ? 'passed' : 'blocked'}, http ${seen.get(`http ${w.addr}`) ? 'passed' : 'blocked'}`);
      }
    }),
  );
  return { failures: failures.map((f) => `phase ${phase}: ${f}`), pairs, probes };
}

describe('weft network trace agrees with real packets', { skip: !weftdBuilt(), timeout: 240_000 }, () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon('weft', { extraArgs: ['--dns', '127.0.0.1'] });
  });
  after(() => d?.stop());

  for (let seed = first; seed < first + count; seed++) {
    test(`random topology, seed ${seed}`, async () => {
      const s = randomScenario(seed, SIZE, `t${seed.toString(36)}`);
      const started = Date.now();
      const failures: string[] = [];
      let pairs = 0;
      let probes = 0;
      try {
        await build(d, s);
        for (let phase = 0; phase <= s.phases.length; phase++) {
          if (phase > 0) await applyPhase(d, s, phase);
          assert.ok(membership(s, phase).size === s.containers.length);
          const r = await checkPhase(d, s, phase);
          failures.push(...r.failures);
          pairs += r.pairs;
          probes += r.probes;
        }
      } finally {
        await teardown(d, s);
      }
      assert.deepEqual(failures, [], `${describeScenario(s)}\nreplay: WEFT_TRACE_SEED=${seed} WEFT_TRACE_TOPOLOGIES=1`);
      console.log(`# trace seed ${seed}: ${pairs} pairs traced twice (ping, 80/tcp), ${probes} probes, all agree, ${Date.now() - started} ms`);
    });
  }
});
