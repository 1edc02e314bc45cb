import type { ModelMember, ModelNetwork, Topology } from '../../src/engine/reachability.js';

// Scenarios for the isolation tests: networks (the default bridge, user-defined ones with and
// without --internal and ICC), containers on one or several of them, then phases of live
// connects and disconnects. Random ones come from a seed (the same seed gives the same
// scenario), so a failure is replayed by its seed alone.

export interface NetSpec {
  name: string;
  internal: boolean;
  icc: boolean;
  /** The predefined default bridge (`bridge`): not created, no aliases, no names. */
  builtin: boolean;
  /** Given with --subnet; otherwise from the daemon's default pools. */
  subnet?: string;
}

export interface AttachSpec {
  network: string;
  alias?: string;
}

export interface CtrSpec {
  name: string;
  /** The first is the container's network at create, the rest are connected before it starts. */
  networks: AttachSpec[];
}

export type Op = { op: 'connect'; container: string; network: string; alias?: string } | { op: 'disconnect'; container: string; network: string };

export interface Scenario {
  label: string;
  seed?: number;
  networks: NetSpec[];
  containers: CtrSpec[];
  /** Applied one phase at a time to running containers; every phase is probed afterwards. */
  phases: Op[][];
}

export interface ScenarioSize {
  containers: number;
  networks: number; // user-defined, besides the default bridge
  phases: number;
  opsPerPhase: number;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function randomScenario(seed: number, size: ScenarioSize, prefix = `s${seed.toString(36)}`): Scenario {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const networks: NetSpec[] = [{ name: 'bridge', internal: false, icc: true, builtin: true }];
  for (let i = 0; i < size.networks; i++) {
    networks.push({
      name: `${prefix}n${i}`,
      internal: rnd() < 0.3,
      icc: rnd() >= 0.3,
      builtin: false,
      ...(rnd() < 0.5 ? { subnet: `10.231.${i}.0/24` } : {}),
    });
  }
  const alias = (net: NetSpec, c: string) => (!net.builtin && rnd() < 0.25 ? { alias: `${c}-${net.name.slice(-2)}` } : {});
  const containers: CtrSpec[] = [];
  for (let i = 0; i < size.containers; i++) {
    const name = `${prefix}c${i}`;
    const count = 1 + Math.floor(rnd() * Math.min(3, networks.length));
    const chosen = shuffle(networks, rnd).slice(0, count);
    containers.push({ name, networks: chosen.map((n) => ({ network: n.name, ...alias(n, name) })) });
  }
  // Every network gets a member at the start, so that every bridge exists (weft makes one at its
  // first join) and its gateway is a host address for the whole scenario.
  for (const n of networks) {
    if (containers.some((c) => c.networks.some((a) => a.network === n.name))) continue;
    const c = pick(containers);
    c.networks.push({ network: n.name, ...alias(n, c.name) });
  }
  const phases: Op[][] = [];
  let state = new Map(containers.map((c) => [c.name, c.networks.map((a) => a.network)]));
  for (let p = 0; p < size.phases; p++) {
    const ops: Op[] = [];
    for (let k = 0; k < size.opsPerPhase; k++) {
      const c = pick(containers).name;
      const on = state.get(c)!;
      const off = networks.filter((n) => !on.includes(n.name));
      if (on.length && (rnd() < 0.5 || off.length === 0)) {
        const network = pick(on);
        ops.push({ op: 'disconnect', container: c, network });
        state.set(c, on.filter((n) => n !== network));
      } else if (off.length) {
        const net = pick(off);
        ops.push({ op: 'connect', container: c, network: net.name, ...alias(net, c) });
        state.set(c, [...on, net.name]);
      }
    }
    phases.push(ops);
    state = new Map(state);
  }
  return { label: `seed ${seed}`, seed, networks, containers, phases };
}

/** Who is on which network (with aliases) after `phase` phases (0: as started). */
export function membership(s: Scenario, phase: number): Map<string, AttachSpec[]> {
  const m = new Map(s.containers.map((c) => [c.name, c.networks.map((a) => ({ ...a }))]));
  for (const ops of s.phases.slice(0, phase)) {
    for (const o of ops) {
      const cur = m.get(o.container)!;
      if (o.op === 'connect') cur.push({ network: o.network, ...(o.alias ? { alias: o.alias } : {}) });
      else m.set(o.container, cur.filter((a) => a.network !== o.network));
    }
  }
  return m;
}

/** What the daemon reported: addresses by `container/network`, gateways by network. */
export interface Observed {
  addresses: Map<string, string[]>;
  gateways: Map<string, string[]>;
  host: string[];
}

/** The model's input: the scenario's intended membership with the addresses the daemon gave. */
export function modelOf(s: Scenario, phase: number, seen: Observed): Topology {
  const networks: ModelNetwork[] = s.networks.map((n) => ({
    name: n.name,
    driver: 'bridge',
    internal: n.internal,
    icc: n.icc,
    dns: !n.builtin,
    gateways: seen.gateways.get(n.name) ?? [],
    subnets: [],
  }));
  const members: ModelMember[] = [];
  for (const [container, atts] of membership(s, phase)) {
    for (const a of atts) members.push({ container, network: a.network, addresses: seen.addresses.get(`${container}/${a.network}`) ?? [], names: [container, ...(a.alias ? [a.alias] : [])] });
  }
  return { networks, members, host: seen.host };
}

/** The scenario as a few readable lines, for failure messages. */
export function describeScenario(s: Scenario): string {
  const net = (n: NetSpec) => `${n.name}${n.builtin ? '(default)' : ''}${n.internal ? ' internal' : ''}${n.icc ? '' : ' icc=off'}${n.subnet ? ` ${n.subnet}` : ''}`;
  const att = (a: AttachSpec) => a.network + (a.alias ? `(alias ${a.alias})` : '');
  const op = (o: Op) => `${o.op} ${o.container} ${o.network}${o.op === 'connect' && o.alias ? ` (alias ${o.alias})` : ''}`;
  return [
    `scenario ${s.label}`,
    `  networks: ${s.networks.map(net).join('; ')}`,
    ...s.containers.map((c) => `  ${c.name}: ${c.networks.map(att).join(', ')}`),
    ...s.phases.map((ops, i) => `  phase ${i + 1}: ${ops.map(op).join('; ') || '(nothing)'}`),
  ].join('\n');
}
