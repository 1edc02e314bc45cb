import { prng } from '../helpers/topology.js';

// What the concurrency test's clients do, decided up front from a seed: each client works on its
// own networks and containers (so the outcome of every step is known in advance) and on the
// shared networks every client uses; some steps are refused on purpose (Docker's 403s and its
// one 500), and at the start every client races the others for a few names, where exactly one
// may win. The expected final state is the sum of what succeeded.

export type Step =
  | { kind: 'net-create'; name: string; subnet?: string }
  | { kind: 'net-rm'; name: string }
  | { kind: 'run'; name: string; networks: string[] }
  | { kind: 'connect'; container: string; network: string }
  | { kind: 'disconnect'; container: string; network: string }
  | { kind: 'rm'; container: string };

/** What the daemon must answer: success, or Docker's refusal (status for API clients, text for both). */
export type Expect = { ok: true } | { ok: false; status: number; text: RegExp };

export interface PlannedStep {
  step: Step;
  expect: Expect;
}

export interface ClientPlan {
  id: number;
  cli: boolean;
  /** Raced against every other client at the same moment: the winner's name stands. */
  race: Step[];
  steps: PlannedStep[];
}

export interface PlanOptions {
  clients: number;
  cliClients: number;
  stepsPerClient: number;
  shared: string[];
  /** Names raced for: `race-net-<k>` networks and `race-ctr-<k>` containers. */
  races: number;
}

const OK: Expect = { ok: true };
const ACTIVE = { ok: false, status: 403, text: /has active endpoints/ } as const;
const ALREADY = { ok: false, status: 403, text: /already exists in network/ } as const;
const NOT_CONNECTED = { ok: false, status: 409, text: /is not connected to (the )?network/ } as const; // dockerd: 500

export function planClients(seed: number, o: PlanOptions): ClientPlan[] {
  return Array.from({ length: o.clients }, (_, id) => planClient(seed * 1000 + id, id, id < o.cliClients, o));
}

function planClient(seed: number, id: number, cli: boolean, o: PlanOptions): ClientPlan {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const p = `k${id}`;
  const nets: string[] = [];
  const ctrs = new Map<string, string[]>();
  let n = 0;
  let c = 0;
  const steps: PlannedStep[] = [];
  const add = (step: Step, expect: Expect = OK) => steps.push({ step, expect });
  while (steps.length < o.stepsPerClient) {
    const r = rnd();
    const names = [...ctrs.keys()];
    const all = [...o.shared, ...nets];
    if (r < 0.12 && nets.length < 2) {
      const name = `${p}-n${n}`;
      add({ kind: 'net-create', name, subnet: `10.${64 + id}.${n++}.0/24` });
      nets.push(name);
    } else if (r < 0.2 && nets.some((x) => ![...ctrs.values()].some((on) => on.includes(x)))) {
      const name = pick(nets.filter((x) => ![...ctrs.values()].some((on) => on.includes(x))));
      add({ kind: 'net-rm', name });
      nets.splice(nets.indexOf(name), 1);
    } else if (r < 0.45 && ctrs.size < 3) {
      const name = `${p}-c${c++}`;
      const first = pick(all);
      const networks = rnd() < 0.4 ? [first, pick(all.filter((x) => x !== first))] : [first];
      add({ kind: 'run', name, networks });
      ctrs.set(name, [...networks]);
    } else if (r < 0.62 && names.length) {
      const name = pick(names);
      const off = all.filter((x) => !ctrs.get(name)!.includes(x));
      if (!off.length) continue;
      const network = pick(off);
      add({ kind: 'connect', container: name, network });
      ctrs.get(name)!.push(network);
    } else if (r < 0.77 && names.some((x) => ctrs.get(x)!.length)) {
      const name = pick(names.filter((x) => ctrs.get(x)!.length));
      const network = pick(ctrs.get(name)!);
      add({ kind: 'disconnect', container: name, network });
      ctrs.set(name, ctrs.get(name)!.filter((x) => x !== network));
    } else if (r < 0.87 && names.length) {
      const name = pick(names);
      add({ kind: 'rm', container: name });
      ctrs.delete(name);
    } else if (r < 0.91) {
      add({ kind: 'net-rm', name: pick(o.shared) }, ACTIVE); // a sentinel container is always on it
    } else if (r < 0.95 && names.some((x) => ctrs.get(x)!.length)) {
      const name = pick(names.filter((x) => ctrs.get(x)!.length));
      add({ kind: 'connect', container: name, network: pick(ctrs.get(name)!) }, ALREADY);
    } else if (names.length) {
      const name = pick(names);
      const off = all.filter((x) => !ctrs.get(name)!.includes(x));
      if (off.length) add({ kind: 'disconnect', container: name, network: pick(off) }, NOT_CONNECTED);
    }
  }
  const race: Step[] = [
    { kind: 'net-create', name: `race-net-${id % o.races}` },
    { kind: 'run', name: `race-ctr-${id % o.races}`, networks: [o.shared[id % o.shared.length]] },
  ];
  return { id, cli, race, steps };
}

export interface Expected {
  /** Every network (user-defined) and the containers on it. */
  networks: Map<string, Set<string>>;
  /** Every container (all running) and its networks. */
  containers: Map<string, Set<string>>;
}

/**
 * The final state: the shared networks with their sentinels, the races' winners, then every step
 * that succeeded, each client's in its own order (no two clients touch the same container or
 * own network, so that order is all that matters).
 */
export function expectedState(succeeded: Step[], o: PlanOptions, sentinels: Map<string, string>): Expected {
  const networks = new Map<string, Set<string>>(o.shared.map((s) => [s, new Set([sentinels.get(s)!])]));
  const containers = new Map<string, Set<string>>([...sentinels].map(([net, c]) => [c, new Set([net])]));
  const apply = (s: Step) => {
    switch (s.kind) {
      case 'net-create':
        networks.set(s.name, new Set());
        break;
      case 'net-rm':
        networks.delete(s.name);
        break;
      case 'run':
        containers.set(s.name, new Set(s.networks));
        for (const n of s.networks) networks.get(n)?.add(s.name);
        break;
      case 'connect':
        containers.get(s.container)?.add(s.network);
        networks.get(s.network)?.add(s.container);
        break;
      case 'disconnect':
        containers.get(s.container)?.delete(s.network);
        networks.get(s.network)!.delete(s.container);
        break;
      case 'rm':
        for (const n of containers.get(s.container) ?? []) networks.get(n)?.delete(s.container);
        containers.delete(s.container);
        break;
    }
  };
  for (const s of succeeded) apply(s);
  return { networks, containers };
}
