import type { Daemon } from '../helpers/daemons.js';
import { describeScenario, membership, modelOf, type Observed, type Scenario } from '../helpers/topology.js';
import { addressesOf, ownerOf, reach, resolveName, type Peer, type ReachOptions, type Topology } from '../../src/engine/reachability.js';
import { HOST4, OUT4, type Lab } from './ports-lab.js';

// Builds a scenario on a daemon (weftd or dockerd) through the Engine API, then after each phase
// checks every pair with real packets against the reachability model: from every container,
// the host and the outside, a ping to every address, an HTTP GET to every container (each
// answers with its own name, so a wrong owner shows) and to the outside, and a DNS lookup of
// every name. All probes of a phase run at once (one shell per source, one background job per
// probe); a probe the model allows that fails is tried once more, slower, before it counts.

const ICC = 'com.docker.network.bridge.enable_icc';

interface Probe {
  kind: 'P' | 'T' | 'N';
  target: string; // address, address:port, or a name
}

interface Source {
  peer: Peer;
  label: string;
  run: (script: string) => Promise<{ code: number; stdout: string; stderr: string }>;
  busybox: string; // '' inside a container, 'busybox ' on the host and outside
}

export interface ScenarioResult {
  probes: number;
  /** Probes the model allows that failed at first and were tried again. */
  retried: number;
  failures: string[];
}

export async function runScenario(d: Daemon, lab: Lab, s: Scenario): Promise<ScenarioResult> {
  const failures: string[] = [];
  let probes = 0;
  let retried = 0;
  const routes: string[] = [];
  try {
    await build(d, s);
    for (const subnet of await subnetsOf(d, s)) {
      const r = await lab.outside('ip', ['route', 'replace', subnet, 'via', HOST4]);
      if (r.code !== 0) throw new Error(`route to ${subnet} in the outside namespace: ${r.stderr}`);
      routes.push(subnet);
    }
    for (let phase = 0; phase <= s.phases.length; phase++) {
      if (phase > 0) await applyPhase(d, s, phase);
      const { seen, problems } = await observe(d, s, phase);
      failures.push(...problems.map((p) => `phase ${phase}: ${p}`));
      const topo = modelOf(s, phase, seen);
      const res = await probePhase(d, lab, s, topo);
      probes += res.probes;
      retried += res.retried;
      failures.push(...res.failures.map((f) => `phase ${phase}: ${f}`));
    }
  } finally {
    await teardown(d, s);
    for (const subnet of routes) await lab.outside('ip', ['route', 'del', subnet]);
  }
  if (failures.length) failures.unshift(describeScenario(s));
  return { probes, retried, failures };
}

async function call(d: Daemon, method: string, path: string, body?: unknown): Promise<any> {
  const r = await d.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.trim()}`);
  return r.json;
}

export async function build(d: Daemon, s: Scenario): Promise<void> {
  for (const n of s.networks.filter((x) => !x.builtin)) {
    await call(d, 'POST', '/networks/create', {
      Name: n.name,
      CheckDuplicate: true,
      Internal: n.internal,
      Options: n.icc ? {} : { [ICC]: 'false' },
      ...(n.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: n.subnet }] } } : {}),
    });
  }
  await Promise.all(
    s.containers.map(async (c) => {
      const [first, ...rest] = c.networks;
      await call(d, `POST`, `/containers/create?name=${c.name}`, {
        Image: 'busybox',
        Cmd: ['sh', '-c', `mkdir -p /www && echo ${c.name} > /www/index.html && exec httpd -f -p 80 -h /www`],
        HostConfig: { NetworkMode: first.network },
        NetworkingConfig: { EndpointsConfig: { [first.network]: first.alias ? { Aliases: [first.alias] } : {} } },
      });
      for (const a of rest) await connect(d, c.name, a.network, a.alias); // while stopped
      await call(d, 'POST', `/containers/${c.name}/start`);
    }),
  );
}

function connect(d: Daemon, container: string, network: string, alias?: string): Promise<unknown> {
  return call(d, 'POST', `/networks/${network}/connect`, { Container: container, EndpointConfig: alias ? { Aliases: [alias] } : {} });
}

export async function applyPhase(d: Daemon, s: Scenario, phase: number): Promise<void> {
  for (const o of s.phases[phase - 1]) {
    if (o.op === 'connect') await connect(d, o.container, o.network, o.alias);
    else await call(d, 'POST', `/networks/${o.network}/disconnect`, { Container: o.container });
  }
}

async function subnetsOf(d: Daemon, s: Scenario): Promise<string[]> {
  const nets = await Promise.all(s.networks.map((n) => call(d, 'GET', `/networks/${n.name}`)));
  return nets.flatMap((n) => (n.IPAM?.Config ?? []).map((c: { Subnet: string }) => c.Subnet).filter((x: string) => !x.includes(':')));
}

/** What the daemon says: every container's addresses, every network's gateway; and whether it matches what was asked. */
async function observe(d: Daemon, s: Scenario, phase: number): Promise<{ seen: Observed; problems: string[] }> {
  const problems: string[] = [];
  const want = membership(s, phase);
  const seen: Observed = { addresses: new Map(), gateways: new Map(), host: [HOST4] };
  const owners = new Map<string, string>();
  for (const c of s.containers) {
    const j = await call(d, 'GET', `/containers/${c.name}/json`);
    if (!j.State?.Running) problems.push(`${c.name} is not running (${j.State?.Status})`);
    const nets: Record<string, { IPAddress: string }> = j.NetworkSettings?.Networks ?? {};
    const got = Object.keys(nets).sort();
    const asked = want.get(c.name)!.map((a) => a.network).sort();
    if (got.join() !== asked.join()) problems.push(`${c.name} is on [${got}] by inspect, expected [${asked}]`);
    for (const [net, ep] of Object.entries(nets)) {
      if (!ep.IPAddress) {
        problems.push(`${c.name} has no address on ${net}`);
        continue;
      }
      seen.addresses.set(`${c.name}/${net}`, [ep.IPAddress]);
      const dup = owners.get(ep.IPAddress);
      if (dup) problems.push(`duplicate address ${ep.IPAddress}: ${dup} and ${c.name}/${net}`);
      owners.set(ep.IPAddress, `${c.name}/${net}`);
    }
  }
  for (const n of s.networks) {
    const j = await call(d, 'GET', `/networks/${n.name}`);
    seen.gateways.set(n.name, (j.IPAM?.Config ?? []).map((c: { Gateway?: string }) => c.Gateway).filter(Boolean));
    const members = Object.values(j.Containers ?? {}).map((m: any) => m.Name as string).sort();
    const asked = [...want].filter(([, atts]) => atts.some((a) => a.network === n.name)).map(([c]) => c).sort();
    if (members.join() !== asked.join()) problems.push(`network ${n.name} lists [${members}], expected [${asked}]`);
  }
  return { seen, problems };
}

export async function teardown(d: Daemon, s: Scenario): Promise<void> {
  await Promise.all(s.containers.map((c) => d.api('DELETE', `/containers/${c.name}?force=1`)));
  for (const n of s.networks.filter((x) => !x.builtin)) await d.api('DELETE', `/networks/${n.name}`);
}

/** Every probe of one phase, from every source at once; returns the count and what disagreed with the model. */
async function probePhase(d: Daemon, lab: Lab, s: Scenario, topo: Topology): Promise<ScenarioResult> {
  // The one place where weft deliberately differs from dockerd 20.10 (see ReachOptions).
  const opts: ReachOptions = { internalReachesHost: d.kind === 'docker' };
  const containerAddrs = topo.members.flatMap((m) => m.addresses);
  const everyAddr = [...addressesOf(topo), OUT4];
  const names = [...new Set(topo.members.flatMap((m) => m.names).concat(s.containers.map((c) => c.name), allAliases(s)))];
  const sources: { src: Source; probes: Probe[] }[] = [
    ...s.containers.map((c) => ({
      src: { peer: { container: c.name }, label: c.name, busybox: '', run: (sc: string) => d.docker(['exec', c.name, 'sh', '-c', sc], { timeoutMs: 60_000 }) } as Source,
      probes: [
        ...everyAddr.map((t) => ({ kind: 'P' as const, target: t })),
        ...containerAddrs.map((t) => ({ kind: 'T' as const, target: t })),
        { kind: 'T' as const, target: `${OUT4}:9999` },
        ...names.map((t) => ({ kind: 'N' as const, target: t })),
      ],
    })),
    {
      src: { peer: 'host', label: 'host', busybox: 'busybox ', run: (sc: string) => lab.host('sh', ['-c', sc], 60_000) },
      probes: [...containerAddrs.map((t) => ({ kind: 'P' as const, target: t })), ...containerAddrs.map((t) => ({ kind: 'T' as const, target: t }))],
    },
    {
      src: { peer: 'outside', label: 'outside', busybox: 'busybox ', run: (sc: string) => lab.outside('sh', ['-c', sc], 60_000) },
      probes: [...addressesOf(topo).filter((a) => a !== HOST4).map((t) => ({ kind: 'P' as const, target: t })), ...containerAddrs.map((t) => ({ kind: 'T' as const, target: t }))],
    },
  ];
  const failures: string[] = [];
  let count = 0;
  let retried = 0;
  await Promise.all(
    sources.map(async ({ src, probes }) => {
      count += probes.length;
      let wrong = judge(topo, opts, src, probes, await runProbes(src, probes, false));
      // Only a refusal the model does not expect is tried again (slow hosts, a server still starting).
      const again = wrong.filter((w) => w.retry).map((w) => w.probe);
      retried += again.length;
      if (again.length) {
        const second = judge(topo, opts, src, again, await runProbes(src, again, true));
        wrong = [...wrong.filter((w) => !w.retry), ...second];
      }
      failures.push(...wrong.map((w) => `${src.label} -> ${w.text}`));
    }),
  );
  return { probes: count, retried, failures };
}

function allAliases(s: Scenario): string[] {
  return [...s.containers.flatMap((c) => c.networks), ...s.phases.flat()].flatMap((a) => ('alias' in a && a.alias ? [a.alias] : []));
}

function script(src: Source, probes: Probe[], slow: boolean): string {
  const bb = src.busybox;
  const [pingArgs, tcpWait, dnsWait] = slow ? ['-c 3 -W 2', 5, 6] : ['-c 1 -W 1', 2, 3];
  // As few processes per probe as can be (the machine has 2 cores): the shell's own echo, and
  // nslookup's answer printed on one line (unquoted: words joined by spaces), parsed here.
  const fns = [
    `p() { if ${bb}ping ${pingArgs} "$1" >/dev/null 2>&1; then echo "P $1 1"; else echo "P $1 0"; fi; }`,
    `t() { r=$(${bb}timeout ${tcpWait} ${bb}wget -qO- "http://$1/" 2>/dev/null); echo "T $1" \${r:--}; }`,
    `n() { r=$(${bb}timeout ${dnsWait} ${bb}nslookup "$1" 2>/dev/null); echo "N $1" $r; }`,
  ];
  const jobs = probes.map((p) => `${p.kind.toLowerCase()} ${p.target} &`);
  return [...fns, ...jobs, 'wait'].join('\n');
}

async function runProbes(src: Source, probes: Probe[], slow: boolean): Promise<Map<string, string>> {
  const r = await src.run(script(src, probes, slow));
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [kind, target, ...rest] = line.trim().split(' ');
    if (kind && target) out.set(`${kind} ${target}`, rest.join(' '));
  }
  if (out.size < probes.length) throw new Error(`${src.label}: ${probes.length - out.size} probes gave no answer (exit ${r.code}): ${r.stderr.slice(0, 500)}`);
  return out;
}

interface Wrong {
  probe: Probe;
  text: string;
  /** The model allows it and it failed: worth one slower try. */
  retry: boolean;
}

function judge(topo: Topology, opts: ReachOptions, src: Source, probes: Probe[], seen: Map<string, string>): Wrong[] {
  const wrong: Wrong[] = [];
  for (const p of probes) {
    const got = seen.get(`${p.kind} ${p.target}`)!;
    if (p.kind === 'N') {
      const from = (src.peer as { container: string }).container;
      const allowed = resolveName(topo, from, p.target).map((a) => a.address);
      const answers = nslookupAnswers(got);
      const bad = answers.filter((a) => !allowed.includes(a));
      if (bad.length || (answers.length === 0) !== (allowed.length === 0)) {
        const expect = allowed.length ? `one of [${allowed}] (a shared user-defined network)` : 'no answer (no shared user-defined network)';
        wrong.push({ probe: p, text: `name ${p.target}: answered [${answers}], the model says ${expect}`, retry: answers.length === 0 });
      }
      continue;
    }
    const addr = p.target.split(':')[0];
    const v = reach(topo, src.peer, addr, opts);
    const what = `${p.kind === 'P' ? 'ping' : 'http'} ${p.target}`;
    const ok = p.kind === 'P' ? got === '1' : got !== '-';
    if (ok !== v.reachable) {
      wrong.push({ probe: p, text: `${what}: ${ok ? 'REACHED' : 'blocked'}, the model says ${v.reachable ? 'reachable' : 'unreachable'} (${v.rule}: ${v.why})`, retry: !ok });
      continue;
    }
    const owner = ownerOf(topo, addr);
    if (p.kind === 'T' && ok && owner.kind === 'container' && got !== owner.container) {
      wrong.push({ probe: p, text: `${what}: answered by ${got}, but ${addr} is ${owner.container}'s`, retry: false });
    }
  }
  return wrong;
}

/** The IPv4 addresses after "Name:" in busybox nslookup's output (the server's own address comes before). */
function nslookupAnswers(words: string): string[] {
  const w = words.split(' ');
  const out: string[] = [];
  for (let i = w.indexOf('Name:'); i >= 0 && i < w.length - 1; i++) {
    if (w[i] === 'Address:' && /^\d+\.\d+\.\d+\.\d+$/.test(w[i + 1])) out.push(w[i + 1]);
  }
  return [...new Set(out)];
}
