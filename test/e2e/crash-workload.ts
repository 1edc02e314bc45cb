import type { Daemon } from '../helpers/daemons.js';

// The operations the crash-consistency test kills weftd in: network create/rm, connect/disconnect,
// container create/start/stop/rm (and run = create + start), on the Engine API. A model of what
// exists is read back from the API after every restart; each operation knows how to tell, after a
// restart, whether it completed, and gives the retry that finishes it if it did not (the retry
// must then succeed: an operation cut short leaves nothing that stands in its way).

export type OpKind = 'netCreate' | 'netRm' | 'create' | 'run' | 'start' | 'connect' | 'disconnect' | 'stop' | 'rm';

export interface Model {
  /** User networks of the workload (name → subnet). */
  nets: Map<string, string>;
  /** Workload containers: name → state and attached network names. */
  ctrs: Map<string, { status: string; nets: string[] }>;
}

export interface Op {
  kind: OpKind;
  label: string;
  /** Names of the objects it works on (ops on disjoint objects may run at once). */
  touches: string[];
  run(d: Daemon): Promise<void>;
  /** After a restart: null when the op completed (or was undone cleanly), else the retry that must succeed. */
  settle(m: Model): Op | null;
}

export const NET_PREFIX = 'cn';
export const CTR_PREFIX = 'w';
const MAX_NETS = 4;
const MAX_CTRS = 6;

/** An API answer that is not 2xx (or 304) while the daemon is up: the op failed. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    text: string,
    label: string,
  ) {
    super(`${label}: ${status} ${text.trim()}`);
  }
}

async function call(d: Daemon, label: string, method: string, path: string, body?: unknown): Promise<void> {
  const r = await d.api(method, path, body);
  if (r.status >= 300 && r.status !== 304) throw new ApiFailure(r.status, r.text, label);
}

export async function readModel(d: Daemon): Promise<Model> {
  const m: Model = { nets: new Map(), ctrs: new Map() };
  const nets = await d.api('GET', '/networks');
  for (const n of nets.json as { Name: string; IPAM: { Config: { Subnet: string }[] | null } }[]) {
    if (n.Name.startsWith(NET_PREFIX)) m.nets.set(n.Name, n.IPAM.Config?.[0]?.Subnet ?? '');
  }
  const list = await d.api('GET', '/containers/json?all=1');
  await Promise.all(
    (list.json as { Id: string; Names: string[] }[]).map(async (c) => {
      const name = c.Names[0].replace(/^\//, '');
      if (!name.startsWith(CTR_PREFIX)) return;
      const r = await d.api('GET', `/containers/${c.Id}/json`);
      if (r.status !== 200) return;
      m.ctrs.set(name, { status: r.json.State.Status, nets: Object.keys(r.json.NetworkSettings?.Networks ?? {}) });
    }),
  );
  return m;
}

let serial = 0;

function netCreate(name: string, subnet: string): Op {
  return {
    kind: 'netCreate',
    label: `network create ${name} ${subnet}`,
    touches: [name],
    run: (d) => call(d, `network create ${name}`, 'POST', '/networks/create', { Name: name, CheckDuplicate: true, IPAM: { Config: [{ Subnet: subnet }] } }),
    settle: (m) => (m.nets.has(name) ? null : netCreate(name, subnet)),
  };
}

function netRm(name: string): Op {
  return { kind: 'netRm', label: `network rm ${name}`, touches: [name], run: (d) => call(d, `network rm ${name}`, 'DELETE', `/networks/${name}`), settle: (m) => (m.nets.has(name) ? netRm(name) : null) };
}

function create(name: string, net: string, publish: boolean, start: boolean): Op {
  const body = {
    Image: 'alpine',
    Cmd: ['sleep', '100000'],
    ExposedPorts: publish ? { '80/tcp': {} } : undefined,
    HostConfig: { NetworkMode: net, ...(publish ? { PortBindings: { '80/tcp': [{ HostPort: '' }] } } : {}) },
  };
  return {
    kind: start ? 'run' : 'create',
    label: `${start ? 'run' : 'create'} ${name} on ${net}${publish ? ' -p 80' : ''}`,
    touches: [name, net],
    async run(d) {
      await call(d, `create ${name}`, 'POST', `/containers/create?name=${name}`, body);
      if (start) await call(d, `start ${name}`, 'POST', `/containers/${name}/start`);
    },
    settle(m) {
      const c = m.ctrs.get(name);
      if (!c) return null; // never created, or undone: the checker sees that nothing is left
      return start && c.status !== 'running' ? startOp(name) : null;
    },
  };
}

function startOp(name: string): Op {
  return { kind: 'start', label: `start ${name}`, touches: [name], run: (d) => call(d, `start ${name}`, 'POST', `/containers/${name}/start`), settle: (m) => (m.ctrs.get(name)?.status === 'running' ? null : startOp(name)) };
}

function stop(name: string): Op {
  return { kind: 'stop', label: `stop ${name}`, touches: [name], run: (d) => call(d, `stop ${name}`, 'POST', `/containers/${name}/stop?t=0`), settle: (m) => (m.ctrs.get(name)?.status === 'running' ? stop(name) : null) };
}

function rm(name: string): Op {
  return { kind: 'rm', label: `rm -f ${name}`, touches: [name], run: (d) => call(d, `rm -f ${name}`, 'DELETE', `/containers/${name}?force=1`), settle: (m) => (m.ctrs.has(name) ? rm(name) : null) };
}

function connect(name: string, net: string): Op {
  return {
    kind: 'connect',
    label: `network connect ${net} ${name}`,
    touches: [name, net],
    run: (d) => call(d, `connect ${name} to ${net}`, 'POST', `/networks/${net}/connect`, { Container: name }),
    settle: (m) => (!m.ctrs.has(name) || !m.nets.has(net) || m.ctrs.get(name)!.nets.includes(net) ? null : connect(name, net)),
  };
}

function disconnect(name: string, net: string): Op {
  return {
    kind: 'disconnect',
    label: `network disconnect ${net} ${name}`,
    touches: [name, net],
    run: (d) => call(d, `disconnect ${name} from ${net}`, 'POST', `/networks/${net}/disconnect`, { Container: name }),
    settle: (m) => (m.ctrs.get(name)?.nets.includes(net) ? disconnect(name, net) : null),
  };
}

/**
 * A random operation that is valid in `m`, preferring the kinds in `prefer`, on objects not in
 * `busy` (those taken by operations running at the same time). Null when none fits.
 */
export function pickOp(m: Model, rand: () => number, prefer: OpKind[], busy: Set<string>, allNets: string[]): Op | null {
  const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
  const free = <T extends string>(xs: T[]) => xs.filter((x) => !busy.has(x));
  const ctrs = free([...m.ctrs.keys()]);
  const running = ctrs.filter((c) => m.ctrs.get(c)!.status === 'running');
  const stopped = ctrs.filter((c) => m.ctrs.get(c)!.status !== 'running');
  const nets = free(allNets);
  const used = new Set([...m.ctrs.values()].flatMap((c) => c.nets));
  const makers: Record<OpKind, () => Op | null> = {
    netCreate: () => {
      if (m.nets.size >= MAX_NETS) return null;
      const taken = new Set(m.nets.values());
      let j = serial++ % 200;
      while (taken.has(`10.91.${j}.0/24`)) j = (j + 1) % 200;
      return netCreate(`${NET_PREFIX}${serial}`, `10.91.${j}.0/24`);
    },
    netRm: () => {
      const n = pick(free([...m.nets.keys()]).filter((x) => !used.has(x)));
      return n ? netRm(n) : null;
    },
    create: () => (m.ctrs.size >= MAX_CTRS || !nets.length ? null : create(`${CTR_PREFIX}${++serial}`, pick(nets)!, rand() < 0.3, false)),
    run: () => (m.ctrs.size >= MAX_CTRS || !nets.length ? null : create(`${CTR_PREFIX}${++serial}`, pick(nets)!, rand() < 0.3, true)),
    start: () => (stopped.length ? startOp(pick(stopped)!) : null),
    stop: () => (running.length ? stop(pick(running)!) : null),
    rm: () => (ctrs.length ? rm(pick(ctrs)!) : null),
    connect: () => {
      const c = pick(running.length && rand() < 0.8 ? running : ctrs);
      const n = c && pick(nets.filter((x) => !m.ctrs.get(c)!.nets.includes(x) && x !== 'bridge'));
      return c && n ? connect(c, n) : null;
    },
    disconnect: () => {
      const c = pick([...running, ...stopped].filter((x) => m.ctrs.get(x)!.nets.some((n) => nets.includes(n))));
      const n = c && pick(m.ctrs.get(c)!.nets.filter((x) => nets.includes(x)));
      return c && n ? disconnect(c, n) : null;
    },
  };
  const kinds = Object.keys(makers) as OpKind[];
  const order = prefer.length && rand() < 0.8 ? [...shuffle(prefer, rand), ...shuffle(kinds, rand)] : shuffle(kinds, rand);
  // Below the limits, growth keeps the workload from draining; at them, removal frees room.
  if (m.ctrs.size < 2) order.unshift('run');
  if (m.ctrs.size >= MAX_CTRS && rand() < 0.5) order.unshift('rm');
  for (const k of order) {
    const op = makers[k]();
    if (op) return op;
  }
  return null;
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The operations most likely to reach a fault point. */
export function preferredFor(point: string): OpKind[] {
  if (point.startsWith('network.create')) return ['netCreate'];
  if (point.startsWith('network.rm')) return ['netRm', 'netCreate'];
  if (point.startsWith('network.connect')) return ['connect'];
  if (point.startsWith('network.disconnect')) return ['disconnect', 'connect'];
  if (point.startsWith('container.create')) return ['create', 'run'];
  if (point.startsWith('container.stop') || point.startsWith('container.exit')) return ['stop', 'run'];
  if (point.startsWith('container.rm')) return ['rm', 'run'];
  if (point.startsWith('sandbox.leave') || point.startsWith('sandbox.teardown')) return ['stop', 'rm', 'disconnect'];
  return ['run', 'start']; // sandbox set-up and join, container and runtime start
}
