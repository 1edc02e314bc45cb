import { invalid } from '../../common/errors.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../common/model.js';
import { configOf } from '../../drivers/bridge/options.js';
import type { Kernel, RouteInfo } from '../../kernel/types.js';
import { reach, resolveName, type Topology } from '../reachability.js';
import { topologyOfRecords } from '../reachability-records.js';
import type { Registry } from '../registry.js';
import { evaluateHook, liveElements, liveMap, type ChainVerdict, type NftObject, type Packet } from './nft-eval.js';

// `weft network trace A B`: can container A reach container B, and why. Everything is read live:
// the records, A's routes in its namespace, the host's routes, and the nftables ruleset as the
// kernel holds it. Each of B's addresses is followed from A's routing decision through the
// forward hook's rules; the verdict is compared with what the records imply (the reachability
// model, and the set elements weft would have written), and every difference is reported: that
// is how a hand-made change to the rules shows. IPv4 only.

export interface TraceStep {
  step: string;
  ok: boolean;
  detail: string;
}

export interface TraceResult {
  from: string;
  to: string;
  port: string | null;
  reachable: boolean;
  steps: TraceStep[];
  disagreements: string[];
}

export interface TraceDeps {
  registry: Registry;
  kernel: Kernel;
  isRealized: (n: NetworkRecord) => boolean;
  /** What the embedded DNS answers `name` to a query from `sourceIp` (A records); null: not a local name. */
  dnsLookup?: (sourceIp: string, name: string) => string[] | null;
}

export interface PortSpec {
  port: number;
  proto: 'tcp' | 'udp' | 'sctp';
}

export function parsePort(text: string | null | undefined): PortSpec | null {
  if (!text) return null;
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text.trim());
  const port = m ? Number(m[1]) : NaN;
  if (!m || port < 1 || port > 65535) throw invalid(`invalid port ${JSON.stringify(text)}: expected N or N/tcp, N/udp, N/sctp`);
  return { port, proto: (m[2]?.toLowerCase() ?? 'tcp') as PortSpec['proto'] };
}

const plain = (cidr: string) => cidr.split('/')[0];

function ip4(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The main-table route the kernel would pick for `dst` (longest prefix; IPv4). */
export function routeFor(routes: RouteInfo[], dst: string): RouteInfo | null {
  let best: RouteInfo | null = null;
  let bestLen = -1;
  for (const r of routes) {
    const [base, lenText] = r.dst === 'default' ? ['0.0.0.0', '0'] : r.dst.split('/');
    const len = Number(lenText ?? 32);
    if (!base.includes('.') || len <= bestLen) continue;
    const mask = len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len);
    if ((ip4(dst) & mask) >>> 0 === (ip4(base) & mask) >>> 0) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

interface Ctx {
  deps: TraceDeps;
  a: ContainerRecord;
  b: ContainerRecord;
  port: PortSpec | null;
  rs: NftObject[];
  hostRoutes: RouteInfo[];
  aRoutes: RouteInfo[];
  topo: Topology;
  steps: TraceStep[];
  disagreements: string[];
}

export async function trace(deps: TraceDeps, fromRef: string, toRef: string, portText?: string | null): Promise<TraceResult> {
  const port = parsePort(portText);
  const a = deps.registry.findContainer(fromRef);
  const b = deps.registry.findContainer(toRef);
  const result: TraceResult = { from: a.name, to: b.name, port: port ? `${port.port}/${port.proto}` : null, reachable: false, steps: [], disagreements: [] };
  const steps = result.steps;
  const running = (c: ContainerRecord) => c.state.status === 'running' && Boolean(c.netnsPath);
  steps.push({ step: 'containers', ok: running(a) && running(b), detail: [a, b].map((c) => `${c.name} is ${c.state.status}${c.networkMode === 'host' ? ' (host network)' : ''}`).join('; ') });
  if (!running(a) || !running(b)) return result;
  if (a.id === b.id) {
    steps.push({ step: 'same container', ok: true, detail: `${a.name}'s own addresses are local to it: nothing is routed or filtered` });
    result.reachable = true;
    return result;
  }
  if (a.networkMode === 'host' || b.networkMode === 'host') {
    steps.push({ step: 'networks', ok: false, detail: 'a container on the host network has no address of its own: trace follows container addresses only' });
    return result;
  }

  const [rs, hostRoutes, aRoutes] = await Promise.all([deps.kernel.nftList(['list', 'ruleset']), deps.kernel.routes(4), deps.kernel.routes(4, { ns: a.netnsPath })]);
  const reg = deps.registry;
  const topo = topologyOfRecords({ networks: reg.networks.all(), endpoints: reg.endpoints.all(), containers: reg.containers.byId, isRealized: deps.isRealized });
  const ctx: Ctx = { deps, a, b, port, rs, hostRoutes, aRoutes, topo, steps, disagreements: result.disagreements };

  networksStep(ctx);
  checkSets(ctx);
  let any = false;
  for (const ep of reg.endpointsOfContainer(b.id).filter((e) => e.ipv4)) if (addressSteps(ctx, ep)) any = true;
  result.reachable = any;
  if (port) publishedStep(ctx);
  dnsStep(ctx);
  return result;
}

function netOf(ctx: Ctx, id: string): NetworkRecord | undefined {
  return ctx.deps.registry.networks.byId.get(id);
}

function describeNet(n: NetworkRecord): string {
  const cfg = configOf(n);
  const flags = [n.driver, n.internal ? 'internal' : '', cfg && !cfg.icc ? 'ICC off' : ''].filter(Boolean);
  return `${n.name} (${flags.join(', ')})`;
}

function networksStep(ctx: Ctx): void {
  const reg = ctx.deps.registry;
  const mine = new Set(reg.endpointsOfContainer(ctx.a.id).map((e) => e.networkId));
  const theirs = reg.endpointsOfContainer(ctx.b.id).map((e) => e.networkId);
  const shared = theirs.filter((id) => mine.has(id)).map((id) => netOf(ctx, id)!).filter(Boolean);
  const list = (ids: Iterable<string>) => [...ids].map((id) => netOf(ctx, id)?.name ?? id).join(', ') || 'no network';
  ctx.steps.push({
    step: 'shared networks',
    ok: shared.length > 0,
    detail: shared.length ? shared.map(describeNet).join('; ') : `none: ${ctx.a.name} is on ${list(mine)}, ${ctx.b.name} on ${list(theirs)}`,
  });
}

/** The route A takes to `addr` and the interfaces the packet crosses on the host. */
function pathTo(ctx: Ctx, addr: string): { ok: boolean; detail: string; packet?: Omit<Packet, 'l4proto' | 'ctState' | 'ctStatus'>; bridged?: boolean } {
  const reg = ctx.deps.registry;
  const r = routeFor(ctx.aRoutes, addr);
  if (!r || !r.dev) return { ok: false, detail: `${ctx.a.name} has no route to ${addr}${ctx.aRoutes.some((x) => x.dst === 'default') ? '' : ' (no default route: only internal networks)'}` };
  const ep = reg.endpointsOfContainer(ctx.a.id).find((e) => e.ifname === r.dev);
  const net = ep && netOf(ctx, ep.networkId);
  const cfg = net && configOf(net);
  if (!ep || !net || !cfg) return { ok: false, detail: `${ctx.a.name} would send ${addr} out of ${r.dev}, which is not a bridge endpoint weft knows` };
  const saddr = plain(ep.ipv4);
  if (!r.gateway) {
    return { ok: true, bridged: true, detail: `${ctx.a.name} sends ${addr} out of ${r.dev} (${net.name}) straight onto bridge ${cfg.bridgeName} (route ${r.dst})`, packet: { iifname: cfg.bridgeName, oifname: cfg.bridgeName, saddr, daddr: addr } };
  }
  const h = routeFor(ctx.hostRoutes, addr);
  const out = h?.dev ?? '(none)';
  const outNet = reg.networks.all().find((n) => configOf(n)?.bridgeName === out);
  return {
    ok: Boolean(h?.dev),
    detail: `${ctx.a.name} sends ${addr} through its default route (${r.gateway} on ${r.dev}, ${net.name}); the host routes it from ${cfg.bridgeName} to ${out}${outNet ? ` (${outNet.name})` : ''}`,
    packet: { iifname: cfg.bridgeName, oifname: out, saddr, daddr: addr },
  };
}

function verdictText(v: ChainVerdict): string {
  const by = v.rule ? `rule ${v.rule.family} ${v.rule.table} ${v.rule.chain} handle ${v.rule.handle}: ${v.rule.text}` : `the policy of ${v.base}`;
  const unsure = v.unsure.length ? `; rules not understood, taken as not matching: ${v.unsure.map((u) => `${u.chain} handle ${u.handle} (${u.text})`).join(', ')}` : '';
  return `${v.verdict} by ${by}${unsure}`;
}

/** Steps for one of B's addresses; returns whether A reaches it. */
function addressSteps(ctx: Ctx, ep: EndpointRecord): boolean {
  const addr = plain(ep.ipv4);
  const net = netOf(ctx, ep.networkId);
  const label = `${addr} (${net?.name ?? ep.networkId})`;
  const path = pathTo(ctx, addr);
  ctx.steps.push({ step: `route to ${label}`, ok: path.ok, detail: path.detail });
  let live = false;
  let decided = path.detail;
  if (path.ok && path.packet) {
    const packet: Packet = { ...path.packet, l4proto: ctx.port?.proto ?? 'icmp', ...(ctx.port ? { dport: ctx.port.port } : {}), ctState: ['new'], ctStatus: [] };
    const v = evaluateHook(ctx.rs, 'forward', packet);
    live = v.verdict === 'accept';
    decided = verdictText(v);
    const what = `${ctx.port ? `${ctx.port.proto} port ${ctx.port.port}` : 'ping (icmp)'} ${packet.iifname} -> ${packet.oifname}`;
    ctx.steps.push({ step: `firewall to ${label}`, ok: live, detail: `${what}: ${verdictText(v)}` });
  }
  const model = reach(ctx.topo, { container: ctx.a.name }, addr);
  if (model.reachable !== live) {
    ctx.disagreements.push(`${label}: the records imply ${model.reachable ? 'reachable' : 'unreachable'} (${model.rule}: ${model.why}), but the live state ${live ? 'lets it through' : 'does not'}: ${decided}`);
  }
  return live;
}

/** The set elements weft's records imply for the networks of A and B, against the live sets. */
function checkSets(ctx: Ctx): void {
  const reg = ctx.deps.registry;
  const ids = new Set([...reg.endpointsOfContainer(ctx.a.id), ...reg.endpointsOfContainer(ctx.b.id)].map((e) => e.networkId));
  const live = (name: string) => liveElements(ctx.rs, 'inet', 'weft', name);
  const bridges = live('bridges');
  if (bridges === null) {
    ctx.disagreements.push('table inet weft is not in the kernel (or has no set bridges): weft\'s rules are gone');
    return;
  }
  const flat = (x: unknown) => JSON.stringify(x && typeof x === 'object' && 'concat' in x ? (x as { concat: unknown }).concat : x);
  const has = (set: string, el: string | string[]) => (live(set) ?? []).some((x) => flat(x) === JSON.stringify(el));
  for (const id of ids) {
    const n = netOf(ctx, id);
    const cfg = n && configOf(n);
    if (!n || !cfg || !ctx.deps.isRealized(n)) continue;
    const br = cfg.bridgeName;
    const want: [string, string | string[], boolean, string][] = [
      ['bridges', br, true, 'a weft bridge'],
      ['icc', [br, br], cfg.icc, cfg.icc ? 'ICC on' : 'ICC off'],
      ['internal', br, n.internal, n.internal ? 'internal' : 'not internal'],
    ];
    for (const [set, el, expected, why] of want) {
      const there = has(set, el);
      if (there !== expected) {
        const shown = Array.isArray(el) ? el.join(' . ') : el;
        ctx.disagreements.push(`set ${set} ${there ? 'holds' : 'lacks'} ${shown}, but the records say ${n.name} is ${why}`);
      }
    }
  }
}

function publishedStep(ctx: Ctx): void {
  const reg = ctx.deps.registry;
  const port = ctx.port!;
  const eps = reg.endpointsOfContainer(ctx.b.id).filter((e) => e.ipv4);
  const maps = (ep: EndpointRecord) => (ep.ports ?? []).filter((p) => p.containerPort === port.port && p.proto === port.proto && !p.hostIp.includes(':'));
  const mapped = eps.flatMap((ep) => maps(ep).map((m) => ({ ep, m })));
  if (!mapped.length) {
    ctx.steps.push({ step: 'published port', ok: false, detail: `${ctx.b.name} does not publish ${port.port}/${port.proto}` });
    return;
  }
  for (const { ep, m } of mapped) {
    const target = plain(ep.ipv4);
    const any = m.hostIp === '0.0.0.0';
    const rows = liveMap(ctx.rs, 'inet', 'weft', any ? 'pub4' : 'pub4ip') ?? [];
    const key = any ? [m.proto, m.hostPort] : [m.hostIp, m.proto, m.hostPort];
    const row = rows.find(([k]) => JSON.stringify(k?.concat) === JSON.stringify(key));
    const dest = row?.[1]?.concat as [string, number] | undefined;
    const hostSide = `${m.hostIp}:${m.hostPort}/${m.proto}`;
    if (!dest) {
      ctx.disagreements.push(`map ${any ? 'pub4' : 'pub4ip'} has no element for ${hostSide}, which the records publish to ${target}:${m.containerPort}`);
      ctx.steps.push({ step: `published ${hostSide}`, ok: false, detail: `no DNAT element in the kernel for ${hostSide}` });
      continue;
    }
    if (dest[0] !== target || Number(dest[1]) !== m.containerPort) ctx.disagreements.push(`map element ${hostSide} leads to ${dest[0]}:${dest[1]}, the records say ${target}:${m.containerPort}`);
    // A reaches the host on the gateway of the network its default route uses (or any of its own).
    const aEps = reg.endpointsOfContainer(ctx.a.id).filter((e) => e.gateway4);
    const via = ctx.aRoutes.find((r) => r.dst === 'default')?.gateway ?? aEps[0]?.gateway4;
    const hostAddr = any ? via : m.hostIp;
    if (!hostAddr || /^127\./.test(hostAddr)) {
      ctx.steps.push({ step: `published ${hostSide}`, ok: false, detail: `${ctx.a.name} has no host address to reach ${hostSide} on` });
      continue;
    }
    const toHost = pathTo(ctx, hostAddr);
    const inIf = toHost.packet?.iifname ?? '';
    const outIf = routeFor(ctx.hostRoutes, dest[0])?.dev ?? '(none)';
    const v = evaluateHook(ctx.rs, 'forward', {
      iifname: inIf,
      oifname: outIf,
      saddr: toHost.packet?.saddr ?? '',
      daddr: dest[0],
      l4proto: m.proto,
      dport: Number(dest[1]),
      ctState: ['new'],
      ctStatus: ['dnat'],
      origDaddr: hostAddr,
      origDport: m.hostPort,
    });
    const ok = Boolean(toHost.packet) && v.verdict === 'accept';
    ctx.steps.push({ step: `published ${hostSide}`, ok, detail: `${ctx.a.name} -> ${hostAddr}:${m.hostPort} is DNAT'd to ${dest[0]}:${dest[1]} (live map element), then forwarded ${inIf} -> ${outIf}: ${verdictText(v)}` });
  }
}

function dnsStep(ctx: Ctx): void {
  const reg = ctx.deps.registry;
  const src = reg.endpointsOfContainer(ctx.a.id).find((e) => e.ipv4);
  const model = resolveName(ctx.topo, ctx.a.name, ctx.b.name).map((x) => x.address).sort();
  const got = src && ctx.deps.dnsLookup ? ctx.deps.dnsLookup(plain(src.ipv4), ctx.b.name) : null;
  if (!ctx.deps.dnsLookup) {
    ctx.steps.push({ step: `dns ${ctx.b.name}`, ok: model.length > 0, detail: `the embedded DNS is not running here; by the records ${model.length ? `it would answer ${model.join(', ')}` : 'the name would not resolve (no shared user-defined network)'}` });
    return;
  }
  const answers = (got ?? []).slice().sort();
  ctx.steps.push({
    step: `dns ${ctx.b.name}`,
    ok: answers.length > 0,
    detail: answers.length ? `${ctx.b.name} from ${ctx.a.name} resolves to ${answers.join(', ')}` : `${ctx.b.name} does not resolve from ${ctx.a.name} (no shared user-defined network; the query would go upstream)`,
  });
  // The DNS answers from the first of A's networks that knows the name (as Docker does); the
  // records allow B's address on any user-defined network both are on.
  const stray = answers.filter((x) => !model.includes(x));
  if (stray.length || (answers.length === 0) !== (model.length === 0)) {
    ctx.disagreements.push(`DNS answers [${answers.join(', ')}] for ${ctx.b.name}, the records allow ${model.length ? `[${model.join(', ')}]` : 'no answer'}`);
  }
}
