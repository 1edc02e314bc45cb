import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { runCmd, type Daemon } from '../helpers/daemons.js';
import type { Expected } from './concurrency-plan.js';

// The three views of the final state the concurrency test compares: the API's, the store's
// (SQLite, read directly) and the kernel's (links, nft set elements, namespaces and every
// container's own addresses and default route).

/** network → container → IPv4 address, and the same by container. */
export interface View {
  networks: Map<string, Map<string, string>>;
  containers: Map<string, Map<string, string>>;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

function emptyView(): View {
  return { networks: new Map(), containers: new Map() };
}

function addMember(v: View, net: string, ctr: string, ip: string): void {
  if (!v.networks.has(net)) v.networks.set(net, new Map());
  if (!v.containers.has(ctr)) v.containers.set(ctr, new Map());
  v.networks.get(net)!.set(ctr, ip);
  v.containers.get(ctr)!.set(net, ip);
}

async function get(d: Daemon, path: string): Promise<any> {
  const r = await d.api('GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/** The API's view, checked for agreement between network inspect and the container list. */
export async function apiView(d: Daemon, problems: string[]): Promise<View> {
  const byNetworks = emptyView();
  const list: { Name: string }[] = await get(d, '/networks');
  for (const { Name } of list.filter((n) => !PREDEFINED.has(n.Name))) {
    const n = await get(d, `/networks/${Name}`);
    byNetworks.networks.set(Name, new Map());
    for (const m of Object.values(n.Containers ?? {}) as { Name: string; IPv4Address: string }[]) addMember(byNetworks, Name, m.Name, m.IPv4Address.split('/')[0]);
  }
  const byContainers = emptyView();
  for (const c of (await get(d, '/containers/json?all=1')) as any[]) {
    const name = (c.Names[0] as string).replace(/^\//, '');
    if (c.State !== 'running') problems.push(`api: ${name} is ${c.State}`);
    byContainers.containers.set(name, new Map());
    for (const [net, ep] of Object.entries(c.NetworkSettings?.Networks ?? {}) as [string, { IPAddress: string }][]) addMember(byContainers, net, name, ep.IPAddress);
  }
  for (const net of byNetworks.networks.keys()) if (!byContainers.networks.has(net)) byContainers.networks.set(net, new Map());
  // Containers on no network are only in the list: compare the networks' side.
  problems.push(...diffViews('network inspect', { ...byNetworks, containers: new Map() }, 'container list', { ...byContainers, containers: new Map() }));
  return byContainers;
}

/** The store's view, read from the SQLite file while the daemon runs (WAL: readers do not block it). */
export function storeView(d: Daemon, problems: string[]): { view: View; networks: NetworkRecord[]; containers: ContainerRecord[]; endpoints: EndpointRecord[] } {
  const db = new Database(join(d.dataRoot, 'weft.db'), { readonly: true, fileMustExist: true });
  try {
    const docs = <T>(table: string) => (db.prepare(`SELECT doc FROM ${table}`).all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
    const networks = docs<NetworkRecord>('networks');
    const containers = docs<ContainerRecord>('containers');
    const endpoints = docs<EndpointRecord>('endpoints');
    const netById = new Map(networks.map((n) => [n.id, n]));
    const ctrById = new Map(containers.map((c) => [c.id, c]));
    const view = emptyView();
    for (const n of networks) if (!n.predefined) view.networks.set(n.name, new Map());
    for (const c of containers) {
      view.containers.set(c.name, new Map());
      if (c.state.status !== 'running') problems.push(`store: ${c.name} is ${c.state.status}`);
      const wanted = c.networks.map((a) => netById.get(a.networkId)?.name ?? `missing network ${a.networkId}`).sort();
      const joined = endpoints.filter((e) => e.containerId === c.id).map((e) => netById.get(e.networkId)?.name ?? `missing network ${e.networkId}`).sort();
      if (wanted.join() !== joined.join()) problems.push(`store: ${c.name} wants [${wanted}] but has endpoints on [${joined}]`);
    }
    for (const e of endpoints) {
      const c = ctrById.get(e.containerId);
      const n = netById.get(e.networkId);
      if (!c || !n) {
        problems.push(`store: endpoint ${e.id.slice(0, 12)} of ${c ? c.name : 'a missing container'} on ${n ? n.name : 'a missing network'}`);
        continue;
      }
      addMember(view, n.name, c.name, e.ipv4.split('/')[0]);
    }
    for (const [k, v] of [...view.networks]) if (PREDEFINED.has(k) && v.size === 0) view.networks.delete(k);
    return { view, networks, containers, endpoints };
  } finally {
    db.close();
  }
}

/** Differences between two views, as readable lines. */
export function diffViews(aName: string, a: View, bName: string, b: View): string[] {
  const out: string[] = [];
  const cmp = (kind: string, x: Map<string, Map<string, string>>, y: Map<string, Map<string, string>>) => {
    for (const k of new Set([...x.keys(), ...y.keys()])) {
      const xs = x.get(k);
      const ys = y.get(k);
      if (!xs || !ys) {
        out.push(`${kind} ${k}: ${xs ? `only in ${aName}` : `only in ${bName}`}`);
        continue;
      }
      const fx = [...xs].map(([m, ip]) => `${m}=${ip}`).sort().join(' ');
      const fy = [...ys].map(([m, ip]) => `${m}=${ip}`).sort().join(' ');
      if (fx !== fy) out.push(`${kind} ${k}: ${aName} [${fx}] vs ${bName} [${fy}]`);
    }
  };
  cmp('network', a.networks, b.networks);
  cmp('container', a.containers, b.containers);
  return out;
}

/** The expected membership against a view (addresses aside), and no address twice. */
export function checkExpected(exp: Expected, v: View): string[] {
  const out: string[] = [];
  const same = (kind: string, want: Map<string, Set<string>>, got: Map<string, Map<string, string>>) => {
    for (const k of new Set([...want.keys(), ...[...got.keys()].filter((x) => !PREDEFINED.has(x) || kind === 'container')])) {
      const w = [...(want.get(k) ?? [])].sort().join(' ');
      const g = [...(got.get(k)?.keys() ?? [])].sort().join(' ');
      if (!want.has(k)) out.push(`${kind} ${k} exists but no successful step made it`);
      else if (!got.has(k)) out.push(`${kind} ${k} is missing`);
      else if (w !== g) out.push(`${kind} ${k}: expected [${w}], got [${g}]`);
    }
  };
  same('network', exp.networks, v.networks);
  same('container', exp.containers, v.containers);
  const seen = new Map<string, string>();
  for (const [net, members] of v.networks) {
    for (const [c, ip] of members) {
      if (!ip) out.push(`${c} has no address on ${net}`);
      else if (seen.has(ip)) out.push(`duplicate address ${ip}: ${seen.get(ip)} and ${c} on ${net}`);
      else seen.set(ip, `${c} on ${net}`);
    }
  }
  return out;
}

interface Link {
  ifname: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}

/**
 * The kernel against the store: a bridge with one veth per endpoint for every network that has
 * endpoints, no stray bridge or veth, nft's bridge set equal to the bridges, one namespace per
 * running container holding exactly its addresses and a default route.
 */
export async function checkKernel(d: Daemon, store: ReturnType<typeof storeView>): Promise<string[]> {
  const netById = new Map(store.networks.map((n) => [n.id, n]));
  const bridgeOf = (n: NetworkRecord) => n.driverState?.bridgeName ?? '';
  const want = new Map<string, number>(); // bridge → endpoints
  for (const e of store.endpoints) {
    const n = netById.get(e.networkId);
    if (n?.driver === 'bridge') want.set(bridgeOf(n), (want.get(bridgeOf(n)) ?? 0) + 1);
  }
  const known = new Set(store.networks.filter((n) => n.driver === 'bridge').map(bridgeOf));
  // A left endpoint's veth is deleted in the background (~20 ms each): give those a moment.
  let out: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    out = [];
    const links = JSON.parse(d.netns.run('ip', ['-j', '-d', 'link', 'show'])) as Link[];
    const bridges = new Set(links.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname));
    const veths = links.filter((l) => l.linkinfo?.info_kind === 'veth');
    for (const [br, count] of want) {
      if (!bridges.has(br)) out.push(`kernel: bridge ${br} is missing (${count} endpoints)`);
      const on = veths.filter((v) => v.master === br).length;
      if (on !== count) out.push(`kernel: ${on} veths on ${br}, ${count} endpoints`);
    }
    for (const br of bridges) if (!known.has(br)) out.push(`kernel: bridge ${br} belongs to no network`);
    const loose = veths.filter((v) => !v.master || !want.has(v.master));
    if (loose.length) out.push(`kernel: veths outside any used bridge: ${loose.map((v) => v.ifname).join(' ')}`);
    const nft = JSON.parse(d.netns.run('nft', ['-j', 'list', 'set', 'inet', 'weft', 'bridges'])) as { nftables: { set?: { elem?: string[] } }[] };
    const elems = new Set(nft.nftables.flatMap((x) => x.set?.elem ?? []));
    for (const e of elems) if (!bridges.has(e)) out.push(`nft: element ${e} of set bridges has no bridge`);
    for (const br of bridges) if (!elems.has(br)) out.push(`nft: bridge ${br} is not in set bridges`);
    if (out.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const running = store.containers.filter((c) => c.state.status === 'running');
  const nsDir = join(d.execRoot, 'netns');
  const files = new Set(readdirSync(nsDir));
  const wantNs = new Set(running.map((c) => c.id.slice(0, 12)));
  for (const f of files) if (!wantNs.has(f)) out.push(`kernel: namespace ${f} belongs to no running container`);
  for (const f of wantNs) if (!files.has(f)) out.push(`kernel: namespace of ${running.find((c) => c.id.startsWith(f))?.name} is missing`);
  await Promise.all(
    running.map(async (c) => {
      const wantIps = store.endpoints.filter((e) => e.containerId === c.id && e.ipv4).map((e) => e.ipv4.split('/')[0]).sort();
      const r = await runCmd('nsenter', [`--net=${join(nsDir, c.id.slice(0, 12))}`, 'sh', '-c', 'ip -j -4 addr show; ip -j route show default']);
      if (r.code !== 0) return void out.push(`kernel: ${c.name}'s namespace: ${r.stderr.trim()}`);
      const [addrs, routes] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as any[]);
      const ips = addrs.filter((a) => a.ifname !== 'lo').flatMap((a) => (a.addr_info ?? []).map((i: { local: string }) => i.local)).sort();
      if (ips.join() !== wantIps.join()) out.push(`kernel: ${c.name} holds [${ips}], its endpoints [${wantIps}]`);
      if ((routes.length > 0) !== (wantIps.length > 0)) out.push(`kernel: ${c.name} has ${routes.length} default routes with ${wantIps.length} endpoints`);
    }),
  );
  return out;
}
