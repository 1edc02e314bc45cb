import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { runCmd, type Daemon } from './daemons.js';

// What a weftd has, read from outside it: its records (the SQLite file, read-only while the
// daemon runs: WAL readers do not block it), and the kernel objects under its namespace and
// roots (links, addresses, the nft table, container namespaces, mounts, processes, runtime files).
// test/helpers/consistency.ts compares the two.

export interface StoreState {
  networks: NetworkRecord[];
  containers: ContainerRecord[];
  endpoints: EndpointRecord[];
}

export function readStore(d: Daemon): StoreState {
  const db = new Database(join(d.dataRoot, 'weft.db'), { readonly: true, fileMustExist: true });
  try {
    const has = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
    const docs = <T>(table: string) => (has.has(table) ? (db.prepare(`SELECT doc FROM ${table}`).all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T) : []);
    return { networks: docs<NetworkRecord>('networks'), containers: docs<ContainerRecord>('containers'), endpoints: docs<EndpointRecord>('endpoints') };
  } finally {
    db.close();
  }
}

export interface LinkView {
  ifname: string;
  kind: string; // bridge, veth, '' (lo, dummy...)
  master?: string;
  up: boolean;
  mac: string;
  addrs: string[]; // "10.0.0.1/24"
}

interface IpLink {
  ifname: string;
  master?: string;
  flags?: string[];
  address?: string;
  linkinfo?: { info_kind?: string };
}
interface IpAddr extends IpLink {
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

function linkViews(addrs: IpAddr[]): LinkView[] {
  return addrs.map((l) => ({
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind ?? '',
    master: l.master,
    up: (l.flags ?? []).includes('UP'),
    mac: l.address ?? '',
    addrs: (l.addr_info ?? []).filter((i) => i.family === 'inet' || !i.local.startsWith('fe80:')).map((i) => `${i.local}/${i.prefixlen}`),
  }));
}

/** Links (with -d: kind, master), their addresses and the IPv4 default routes of a namespace: one `ip -batch` process. */
async function readNetns(path: string): Promise<{ links: LinkView[]; defaults: string[] } | string> {
  const r = await runCmd('nsenter', [`--net=${path}`, 'ip', '-j', '-d', '-batch', '-'], { input: 'addr show\nroute show default\n' });
  if (r.code !== 0) return r.stderr.trim() || `nsenter exited ${r.code}`;
  const [addrs, routes] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { links: linkViews(addrs), defaults: ((routes ?? []) as { gateway?: string; dev?: string }[]).map((x) => `${x.gateway ?? ''} ${x.dev ?? ''}`) };
}

/** Links with their addresses in the daemon's namespace. */
export async function daemonLinks(d: Daemon): Promise<LinkView[]> {
  const v = await readNetns(d.netns.path);
  if (typeof v === 'string') throw new Error(`ip addr in ${d.netns.name}: ${v}`);
  return v.links;
}

export interface SandboxView {
  links: LinkView[];
  /** Default routes: "via dev". */
  defaults: string[];
}

/** A container namespace's links, addresses and default routes; the error text when it cannot be entered. */
export function sandboxView(path: string): Promise<SandboxView | string> {
  return readNetns(path);
}

/** Every element of every set and map of `inet weft`, as "set: element" strings (maps: "key : value"); the error text if it cannot be listed. */
export async function nftElements(d: Daemon): Promise<Set<string> | string> {
  const r = await runCmd('nsenter', [`--net=${d.netns.path}`, 'nft', '-j', 'list', 'table', 'inet', 'weft']);
  if (r.code !== 0) return `nft list table inet weft: ${r.stderr.trim()}`;
  const out = new Set<string>();
  for (const o of (JSON.parse(r.stdout) as { nftables: Record<string, { name?: string; elem?: unknown[] }>[] }).nftables) {
    const s = o.set ?? o.map;
    for (const e of s?.elem ?? []) out.add(`${s!.name}: ${nftValue(e)}`);
  }
  return out;
}

/** nft's JSON value forms as nft's own text: concatenations with " . ", prefixes a/len, map pairs "k : v". */
export function nftValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(nftValue).join(' : ');
  if (v && typeof v === 'object') {
    const o = v as Record<string, any>;
    if (o.concat) return (o.concat as unknown[]).map(nftValue).join(' . ');
    if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
    if (o.range) return (o.range as unknown[]).map(nftValue).join('-');
    if (o.elem) return nftValue(o.elem.val);
    return JSON.stringify(o);
  }
  return String(v);
}

/** Mount points under any of the roots. */
export function mountsUnder(roots: string[]): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (roots.some((r) => mp === r || mp.startsWith(r + '/'))) out.push(mp);
  }
  return [...new Set(out)];
}

/** True if the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Live conmon processes of this daemon (by its runc root on their command line), by container id. */
export function conmons(d: Daemon): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const runcRoot = `--root=${join(d.execRoot, 'runc')}`;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith('conmon') || !argv.includes(runcRoot) || !alive(Number(e))) continue;
    const id = argv[argv.indexOf('-c') + 1] ?? '?';
    out.set(id, [...(out.get(id) ?? []), Number(e)]);
  }
  return out;
}

/** Entries of a directory ([] when it does not exist). */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function readPid(file: string): number | null {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

/** Whether a pid's network namespace is the one bound at `path` (stat of an nsfs bind mount gives its inode). */
export function inNetns(pid: number, path: string): boolean {
  try {
    return existsSync(path) && readlinkSync(`/proc/${pid}/ns/net`) === `net:[${statSync(path).ino}]`;
  } catch {
    return false;
  }
}
