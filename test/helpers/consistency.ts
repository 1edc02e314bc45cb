import { join } from 'node:path';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { configOf, nftNetworkOf } from '../../src/drivers/bridge/options.js';
import { nftPortsOf } from '../../src/drivers/bridge/bridge.js';
import { runCmd, type Daemon } from './daemons.js';
import { alive, conmons, daemonLinks, entries, inNetns, mountsUnder, nftElements, readPid, readStore, sandboxView, type LinkView, type SandboxView, type StoreState } from './kernel-view.js';

// The consistency checker (issue 11's crash proof; reusable by any test that wants to know that
// a weftd's records and the kernel agree). It reads the records (SQLite), the API and the kernel
// (links and addresses in the daemon's namespace and in every container's, the nft table,
// /proc/self/mountinfo, conmon processes, runtime files) and checks that:
//  - every bridge, veth, nft set/map element, namespace, mount, conmon and runtime directory
//    belongs to a record, and every record's kernel objects exist (bridges of networks in use,
//    their gateway addresses and elements, each endpoint's veth on its bridge, each running
//    container's namespace with exactly its endpoints' interfaces, addresses, MACs and one
//    default route, its process and its conmon);
//  - no address or MAC is held twice (in the records and in the kernel);
//  - the API shows what the records say (containers, states, pids, networks, addresses);
//  - optionally (reachability), every running container reaches its gateways and its peers on
//    each shared network with ICC, by ping from inside it (nsenter into its namespaces).
// Background work (veth deletions, unmounts after an exit) settles within a moment, so a check
// that finds problems is repeated until settleMs pass.

export interface ConsistencyOptions {
  /** Ping gateways and peers from every running container (default true). */
  reachability?: boolean;
  /** How long problems may take to go away (background veth deletions, unmounts, exits). Default 4 s. */
  settleMs?: number;
}

export interface ConsistencyResult {
  problems: string[];
  /** Individual facts compared (each object, address, element, ping). */
  checks: number;
  store: StoreState;
}

class Tally {
  checks = 0;
  readonly problems: string[] = [];
  expect(cond: boolean, problem: () => string): void {
    this.checks++;
    if (!cond) this.problems.push(problem());
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkConsistency(d: Daemon, opts: ConsistencyOptions = {}): Promise<ConsistencyResult> {
  const deadline = Date.now() + (opts.settleMs ?? 4000);
  let last: { t: Tally; store: StoreState };
  for (;;) {
    last = await checkOnce(d);
    if (last.t.problems.length === 0 || Date.now() > deadline) break;
    await sleep(250);
  }
  const { t, store } = last;
  if (opts.reachability !== false) await checkReachability(store, t);
  return { problems: t.problems, checks: t.checks, store };
}

async function checkOnce(d: Daemon): Promise<{ t: Tally; store: StoreState }> {
  const t = new Tally();
  const store = readStore(d);
  // The readings are independent: taken at once, they cost the slowest, not the sum.
  const [links, nft, sandboxes] = await Promise.all([daemonLinks(d), nftElements(d), readSandboxes(store), checkApi(d, store, t)]);
  checkRecords(store, t);
  checkLinks(store, links, t);
  checkNft(store, links, nft, t);
  checkSandboxes(d, store, sandboxes, t);
  checkRuntime(d, store, t);
  return { t, store };
}

const running = (s: StoreState) => s.containers.filter((c) => c.state.status === 'running' && c.netnsPath);

async function readSandboxes(s: StoreState): Promise<Map<string, SandboxView | string>> {
  const views = await Promise.all(running(s).map(async (c) => [c.id, await sandboxView(c.netnsPath)] as const));
  return new Map(views);
}

const ip4 = (cidr: string) => cidr.split('/')[0];
const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function inSubnet(ip: string, subnet: string): boolean {
  const [net, len] = subnet.split('/');
  const block = 2 ** (32 - Number(len));
  return Math.floor(toInt(ip) / block) === Math.floor(toInt(net) / block);
}
const short = (id: string) => id.slice(0, 12);
const isRunning = (c: ContainerRecord) => c.state.status === 'running';

/** The records among themselves: endpoints of existing objects, only on running containers, addresses once. */
function checkRecords(s: StoreState, t: Tally): void {
  const nets = new Map(s.networks.map((n) => [n.id, n]));
  const ctrs = new Map(s.containers.map((c) => [c.id, c]));
  const seenIp = new Map<string, string>();
  const seenMac = new Map<string, string>();
  for (const ep of s.endpoints) {
    const c = ctrs.get(ep.containerId);
    const n = nets.get(ep.networkId);
    t.expect(!!c && !!n, () => `store: endpoint ${short(ep.id)} of ${c?.name ?? `missing container ${short(ep.containerId)}`} on ${n?.name ?? `missing network ${short(ep.networkId)}`}`);
    if (!c || !n) continue;
    t.expect(isRunning(c), () => `store: ${c.name} is ${c.state.status} but has an endpoint on ${n.name}`);
    if (ep.ipv4) {
      const ip = ip4(ep.ipv4);
      const pool = n.ipam.config.find((p) => !p.Subnet.includes(':'));
      t.expect(!!pool && inSubnet(ip, pool.Subnet) && ip !== pool.Gateway, () => `store: ${c.name}'s address ${ep.ipv4} on ${n.name} is outside ${pool?.Subnet} or its gateway`);
      t.expect(!seenIp.has(ip), () => `store: address ${ip} held twice: ${seenIp.get(ip)} and ${c.name} on ${n.name}`);
      seenIp.set(ip, `${c.name} on ${n.name}`);
    }
    if (ep.mac) {
      const key = `${n.id} ${ep.mac}`;
      t.expect(!seenMac.has(key), () => `store: MAC ${ep.mac} held twice on ${n.name}: ${seenMac.get(key)} and ${c.name}`);
      seenMac.set(key, c.name);
    }
  }
  for (const c of s.containers) {
    const eps = s.endpoints.filter((e) => e.containerId === c.id);
    if (isRunning(c)) {
      const wanted = c.networks.map((a) => a.networkId).sort().join();
      const joined = eps.map((e) => e.networkId).sort().join();
      t.expect(wanted === joined, () => `store: running ${c.name} wants networks [${names(s, c.networks.map((a) => a.networkId))}], has endpoints on [${names(s, eps.map((e) => e.networkId))}]`);
      t.expect(c.state.pid > 0, () => `store: running ${c.name} has pid ${c.state.pid}`);
    } else {
      t.expect(c.netnsPath === '', () => `store: ${c.state.status} ${c.name} still has a sandbox ${c.netnsPath}`);
    }
    for (const a of c.networks) t.expect(nets.has(a.networkId), () => `store: ${c.name} is attached to missing network ${short(a.networkId)}`);
  }
}

function names(s: StoreState, ids: string[]): string {
  return ids.map((id) => s.networks.find((n) => n.id === id)?.name ?? short(id)).sort().join(' ');
}

async function checkApi(d: Daemon, s: StoreState, t: Tally): Promise<void> {
  const list = await d.api('GET', '/containers/json?all=1');
  t.expect(list.status === 200, () => `api: GET /containers/json answered ${list.status} ${list.text}`);
  const shown = new Map((Array.isArray(list.json) ? list.json : []).map((c: { Id: string; State: string }) => [c.Id, c.State]));
  for (const c of s.containers) t.expect(shown.get(c.id) === c.state.status, () => `api: ${c.name} shows as ${shown.get(c.id) ?? 'absent'}, recorded ${c.state.status}`);
  for (const id of shown.keys()) t.expect(s.containers.some((c) => c.id === id), () => `api: lists container ${short(id)} that has no record`);
  const nets = await d.api('GET', '/networks');
  const shownNets = new Set((Array.isArray(nets.json) ? nets.json : []).map((n: { Id: string }) => n.Id));
  t.expect(shownNets.size === s.networks.length && s.networks.every((n) => shownNets.has(n.id)), () => `api: networks [${[...shownNets].map(short)}], records [${s.networks.map((n) => short(n.id))}]`);
  await Promise.all(
    s.containers.filter(isRunning).map(async (c) => {
      const r = await d.api('GET', `/containers/${c.id}/json`);
      if (r.status !== 200) return t.expect(false, () => `api: inspect ${c.name}: ${r.status} ${r.text}`);
      t.expect(r.json.State?.Pid === c.state.pid, () => `api: ${c.name} pid ${r.json.State?.Pid}, recorded ${c.state.pid}`);
      const got = Object.entries((r.json.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress: string }>).map(([n, e]) => `${n}=${e.IPAddress}`).sort().join(' ');
      const want = s.endpoints
        .filter((e) => e.containerId === c.id)
        .map((e) => `${s.networks.find((n) => n.id === e.networkId)?.name}=${ip4(e.ipv4)}`)
        .sort()
        .join(' ');
      t.expect(got === want, () => `api: ${c.name} shows [${got}], its endpoints are [${want}]`);
    }),
  );
}

/** Bridges and veths in the daemon's namespace against the bridge networks and their endpoints. */
function checkLinks(s: StoreState, links: LinkView[], t: Tally): void {
  const byName = new Map(links.map((l) => [l.ifname, l]));
  const bridges = new Map<string, NetworkRecord>();
  for (const n of s.networks) {
    const cfg = n.driver === 'bridge' ? configOf(n) : null;
    if (cfg) bridges.set(cfg.bridgeName, n);
  }
  for (const l of links.filter((x) => x.kind === 'bridge')) t.expect(bridges.has(l.ifname), () => `kernel: bridge ${l.ifname} belongs to no network`);
  const wantVeths = new Map<string, { ep: EndpointRecord; bridge: string }>();
  for (const [br, n] of bridges) {
    const eps = s.endpoints.filter((e) => e.networkId === n.id);
    const l = byName.get(br);
    if (eps.length || n.predefined) t.expect(l?.kind === 'bridge', () => `kernel: bridge ${br} of ${n.name} is missing (${eps.length} endpoints)`);
    if (l?.kind !== 'bridge') continue;
    t.expect(l.up, () => `kernel: bridge ${br} of ${n.name} is down`);
    for (const p of n.ipam.config.filter((x) => x.Gateway && !x.Subnet.includes(':'))) {
      const want = `${p.Gateway}/${p.Subnet.split('/')[1]}`;
      t.expect(l.addrs.includes(want), () => `kernel: bridge ${br} of ${n.name} lacks its gateway ${want} (has ${l.addrs.join(' ')})`);
    }
    for (const ep of eps) wantVeths.set(ep.hostIfname || `veth${ep.id.slice(0, 7)}`, { ep, bridge: br });
  }
  for (const l of links.filter((x) => x.kind === 'veth')) t.expect(wantVeths.has(l.ifname), () => `kernel: veth ${l.ifname} (on ${l.master ?? 'no bridge'}) belongs to no endpoint`);
  for (const [veth, { ep, bridge }] of wantVeths) {
    const l = byName.get(veth);
    t.expect(l?.kind === 'veth' && l.master === bridge && l.up, () => `kernel: endpoint ${short(ep.id)}'s veth ${veth} is ${l ? `${l.up ? 'up' : 'down'} on ${l.master ?? 'no bridge'}` : 'missing'}, want up on ${bridge}`);
  }
}

/** checkNft's verdict alone, on given readings (for tests of the checker: weftd's firewall watch undoes hand-made nft changes at once). */
export function nftProblems(s: StoreState, links: LinkView[], got: Set<string>): string[] {
  const t = new Tally();
  checkNft(s, links, got, t);
  return t.problems;
}

/** The nft table's elements: exactly those of the networks whose bridge exists, and of their endpoints' published ports. */
function checkNft(s: StoreState, links: LinkView[], got: Set<string> | string, t: Tally): void {
  if (typeof got === 'string') return t.expect(false, () => `nft: ${got}`);
  const present = new Set(links.filter((l) => l.kind === 'bridge').map((l) => l.ifname));
  const want = new Set<string>();
  for (const n of s.networks) {
    const cfg = n.driver === 'bridge' ? configOf(n) : null;
    if (!cfg || !present.has(cfg.bridgeName)) continue;
    const x = nftNetworkOf(n, cfg);
    want.add(`bridges: ${x.bridge}`);
    if (x.icc) want.add(`icc: ${x.bridge} . ${x.bridge}`);
    if (x.internal) want.add(`internal: ${x.bridge}`);
    if (x.masquerade && !x.internal) for (const sub of x.subnets4) want.add(`masq4: ${sub}`);
    if (x.masquerade && !x.internal) for (const sub of x.subnets6) want.add(`masq6: ${sub}`);
    for (const ep of s.endpoints.filter((e) => e.networkId === n.id)) {
      for (const p of nftPortsOf(n, ep)) {
        const v6 = p.containerIp.includes(':');
        const any = p.hostIp === (v6 ? '::' : '0.0.0.0');
        const key = any ? `${p.proto} . ${p.hostPort}` : `${p.hostIp} . ${p.proto} . ${p.hostPort}`;
        want.add(`pub${v6 ? 6 : 4}${any ? '' : 'ip'}: ${key} : ${p.containerIp} . ${p.containerPort}`);
        want.add(`hairpin${v6 ? 6 : 4}: ${p.containerIp} . ${p.containerIp} . ${p.proto} . ${p.containerPort}`);
      }
    }
  }
  for (const e of got) t.expect(want.has(e), () => `nft: element ${e} belongs to no record (or its bridge is gone)`);
  for (const e of want) t.expect(got.has(e), () => `nft: element ${e} is missing`);
}

/** Namespaces under <exec-root>/netns, and inside each running container's exactly its endpoints. */
function checkSandboxes(d: Daemon, s: StoreState, views: Map<string, SandboxView | string>, t: Tally): void {
  const dir = join(d.execRoot, 'netns');
  const files = entries(dir);
  for (const f of files) t.expect(s.containers.some((c) => isRunning(c) && c.netnsPath === join(dir, f)), () => `kernel: namespace ${f} belongs to no running container`);
  const kernelIps = new Map<string, string>();
  for (const c of s.containers.filter(isRunning)) {
    const first = s.networks.find((n) => n.id === c.networks[0]?.networkId);
    if (first?.driver === 'host') continue;
    t.expect(c.netnsPath !== '' && files.includes(c.netnsPath.split('/').pop()!), () => `kernel: running ${c.name}'s namespace ${c.netnsPath || '(none recorded)'} is missing`);
    const v = views.get(c.id);
    if (!c.netnsPath || v === undefined) continue;
    t.expect(alive(c.state.pid) && inNetns(c.state.pid, c.netnsPath), () => `kernel: ${c.name}'s process ${c.state.pid} is ${alive(c.state.pid) ? 'not in' : 'gone from'} its namespace`);
    if (typeof v === 'string') {
      t.expect(false, () => `kernel: ${c.name}'s namespace cannot be read: ${v}`);
      continue;
    }
    const eps = s.endpoints.filter((e) => e.containerId === c.id && e.ifname);
    const ifs = v.links.filter((l) => l.ifname !== 'lo');
    t.expect(ifs.map((l) => l.ifname).sort().join() === eps.map((e) => e.ifname).sort().join(), () => `kernel: ${c.name} has interfaces [${ifs.map((l) => l.ifname)}], its endpoints [${eps.map((e) => e.ifname)}]`);
    for (const ep of eps) {
      const l = ifs.find((x) => x.ifname === ep.ifname);
      t.expect(!!l && l.up && l.addrs.includes(ep.ipv4) && l.mac === ep.mac, () => `kernel: ${c.name}'s ${ep.ifname} is ${l ? `${l.up ? 'up' : 'down'} ${l.mac} [${l.addrs}]` : 'missing'}, want up ${ep.mac} ${ep.ipv4}`);
    }
    for (const l of ifs) {
      for (const a of l.addrs.filter((x) => !x.includes(':'))) {
        t.expect(!kernelIps.has(ip4(a)), () => `kernel: address ${a} held twice: ${kernelIps.get(ip4(a))} and ${c.name}`);
        kernelIps.set(ip4(a), c.name);
      }
    }
    const givers = eps.filter((e) => e.gateway4 && !s.networks.find((n) => n.id === e.networkId)?.internal);
    const ok = givers.length ? v.defaults.length === 1 && givers.some((e) => v.defaults[0] === `${e.gateway4} ${e.ifname}`) : v.defaults.length === 0;
    t.expect(ok, () => `kernel: ${c.name}'s default routes [${v.defaults.join(', ')}], want one via [${givers.map((e) => `${e.gateway4} ${e.ifname}`).join(', ')}]`);
  }
}

/** conmons, container processes, runtime dirs and mounts against the container records. */
function checkRuntime(d: Daemon, s: StoreState, t: Tally): void {
  const ids = new Set(s.containers.map((c) => c.id));
  const monitors = conmons(d);
  for (const [id, pids] of monitors) {
    const c = s.containers.find((x) => x.id === id);
    t.expect(!!c && isRunning(c) && pids.length === 1, () => `runtime: conmon ${pids.join(',')} of ${c ? `${c.state.status} ${c.name}` : `container ${short(id)} without a record`}`);
  }
  for (const c of s.containers) {
    const pidfile = readPid(join(d.execRoot, 'containers', c.id, 'pidfile'));
    if (isRunning(c)) {
      t.expect(monitors.has(c.id), () => `runtime: running ${c.name} has no conmon`);
      t.expect(pidfile === c.state.pid && alive(c.state.pid), () => `runtime: running ${c.name}'s pid ${c.state.pid} is ${alive(c.state.pid) ? 'alive' : 'gone'}, its pidfile says ${pidfile}`);
    } else {
      t.expect(pidfile === null || !alive(pidfile), () => `runtime: ${c.state.status} ${c.name}'s process ${pidfile} still runs`);
    }
    t.expect(entries(join(d.dataRoot, 'containers', c.id)).includes('spec.json'), () => `runtime: ${c.state.status} ${c.name} has no runtime spec (it can never start)`);
  }
  for (const [dir, what] of [[join(d.execRoot, 'containers'), 'bundle'], [join(d.dataRoot, 'containers'), 'layer'], [join(d.execRoot, 'runc'), 'runc state']] as const) {
    for (const id of entries(dir)) t.expect(ids.has(id), () => `runtime: ${what} ${dir}/${short(id)} belongs to no container`);
  }
  const netnsDir = join(d.execRoot, 'netns');
  const mounts = mountsUnder([d.execRoot, d.dataRoot]);
  for (const c of s.containers.filter(isRunning)) {
    const rootfs = join(d.execRoot, 'containers', c.id, 'rootfs');
    t.expect(mounts.includes(rootfs), () => `kernel: running ${c.name}'s rootfs ${rootfs} is not mounted`);
  }
  for (const mp of mounts) {
    const rootfs = /\/containers\/([0-9a-f]{64})\/rootfs$/.exec(mp);
    const owner = rootfs && s.containers.find((c) => c.id === rootfs[1]);
    const ok = (owner && isRunning(owner)) || (mp.startsWith(netnsDir + '/') && s.containers.some((c) => isRunning(c) && c.netnsPath === mp));
    t.expect(!!ok, () => `kernel: mount ${mp} belongs to no running container`);
  }
}

/** Every running container pings its gateways, and its peers on each network they share with ICC on. */
async function checkReachability(s: StoreState, t: Tally): Promise<void> {
  await Promise.all(
    running(s).map(async (c) => {
      const targets = new Map<string, string>();
      for (const ep of s.endpoints.filter((e) => e.containerId === c.id)) {
        const n = s.networks.find((x) => x.id === ep.networkId);
        if (!n || n.driver !== 'bridge') continue;
        if (ep.gateway4) targets.set(ep.gateway4, `gateway of ${n.name}`);
        if (configOf(n)?.icc === false) continue;
        for (const peer of s.endpoints.filter((e) => e.networkId === n.id && e.containerId !== c.id && e.ipv4)) {
          targets.set(ip4(peer.ipv4), `${s.containers.find((x) => x.id === peer.containerId)?.name} on ${n.name}`);
        }
      }
      if (targets.size === 0) return;
      const failed = await pingFrom(c.state.pid, [...targets.keys()]);
      const again = failed.length ? await pingFrom(c.state.pid, failed) : [];
      for (const ip of targets.keys()) t.expect(!again.includes(ip), () => `reach: ${c.name} cannot ping ${ip} (${targets.get(ip)})`);
    }),
  );
}

/** Pings each address once from inside the container (its own ping, in its namespaces); returns those that failed. */
async function pingFrom(pid: number, ips: string[]): Promise<string[]> {
  const script = ips.map((ip) => `(ping -c 1 -W 1 ${ip} >/dev/null 2>&1 || echo ${ip}) &`).join(' ') + ' wait';
  const r = await runCmd('nsenter', ['-t', String(pid), '-n', '-m', 'sh', '-c', script], { timeoutMs: 10_000 });
  if (r.code !== 0) return ips;
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}
