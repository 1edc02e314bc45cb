import { conflict, invalid, notFound } from '../common/errors.js';
import type { HostsEntry } from './containerFiles.js';
import type { ContainerRecord } from '../common/model.js';
import type { Registry } from './registry.js';

// Legacy links (`--link alpine1:db`), the default bridge's way to share names and environment:
// the target's address goes into /etc/hosts under the alias, its name and hostname, and Docker's
// link variables (DB_NAME, DB_PORT_80_TCP_ADDR, DB_ENV_*...) into the new container's env.

export interface Link {
  target: string; // container name as given
  alias: string;
}

export function parseLink(spec: string): Link {
  const [target, alias] = spec.split(':');
  if (!target) throw invalid(`invalid link: ${spec}`);
  return { target: target.replace(/^\//, ''), alias: (alias ?? target).replace(/^.*\//, '') };
}

/** Docker's stored form: "/alpine1:/c2/db". */
export function linkPath(link: Link, child: ContainerRecord): string {
  return `/${link.target}:/${child.name}/${link.alias}`;
}

export function linksOf(c: ContainerRecord): Link[] {
  const raw = (c.hostConfig.Links as string[] | null | undefined) ?? [];
  return raw.map((l) => {
    const m = /^\/?([^:]+):\/[^/]+\/(.+)$/.exec(l);
    return m ? { target: m[1], alias: m[2] } : parseLink(l);
  });
}

/**
 * `--link` on user-defined networks, given per endpoint (EndpointsConfig.Links): a DNS alias only
 * the linking container resolves, to whichever container bears the target's name when it asks
 * (libnetwork's CreateOptionAlias), so the target may be created after it.
 */
export function endpointLinks(c: ContainerRecord): Link[] {
  return c.networks.flatMap((a) => a.links.map(parseLink));
}

/** The container's legacy links without `alias`, in their stored form; null if it has no such link. */
export function withoutLink(c: ContainerRecord, alias: string): string[] | null {
  const raw = (c.hostConfig.Links as string[] | null | undefined) ?? [];
  const keep = raw.filter((l, i) => linksOf(c)[i].alias !== alias);
  return keep.length === raw.length ? null : keep;
}

/** The default bridge, when the child is on it: legacy links live there only. */
function childBridge(registry: Registry, child: ContainerRecord): string | null {
  for (const att of child.networks) {
    const net = registry.networks.byId.get(att.networkId);
    if (net?.predefined && net.driver === 'bridge') return net.id;
  }
  return null;
}

/** The target's address on the default bridge. */
function bridgeAddress(registry: Registry, bridgeId: string, target: ContainerRecord): string {
  const ep = registry.endpointsOfContainer(target.id).find((e) => e.networkId === bridgeId && e.ipv4);
  return ep ? ep.ipv4.split('/')[0] : '';
}

export interface ResolvedLinks {
  hosts: HostsEntry[];
  env: string[];
}

/** Normalizes `--link` values at create ("alpine1:db" → "/alpine1:/c2/db"); the targets must exist. */
export function normalizeLinks(registry: Registry, child: ContainerRecord, raw: string[]): string[] {
  return raw.map((spec) => {
    const link = parseLink(spec);
    // 400, not 404: the docker CLI reads any 404 from create as a missing image and tries to pull.
    if (!registry.lookupContainer(link.target)) throw invalid(`could not get container for ${link.target}: No such container: ${link.target}`);
    return linkPath(link, child);
  });
}

/**
 * Resolves legacy links of a container on the default bridge. strict (at start): every target
 * must exist and run, as Docker requires; otherwise (rewriting /etc/hosts later) targets that went
 * away are skipped. On user-defined networks a link is only a DNS alias (src/dns/table.ts).
 */
export function resolveLinks(registry: Registry, child: ContainerRecord, strict: boolean): ResolvedLinks {
  const out: ResolvedLinks = { hosts: [], env: [] };
  const bridgeId = childBridge(registry, child);
  if (!bridgeId) return out;
  for (const link of linksOf(child)) {
    const target = registry.lookupContainer(link.target);
    if (!target || target.state.status !== 'running') {
      if (!strict) continue;
      if (!target) throw notFound(`could not get container for ${link.target}`);
      throw conflict(`Cannot link to a non running container: /${target.name} AS /${child.name}/${link.alias}`);
    }
    const ip = bridgeAddress(registry, bridgeId, target);
    if (!ip) continue;
    const names = [link.alias, target.config.Hostname || target.id.slice(0, 12), target.name].filter((n, i, all) => all.indexOf(n) === i);
    out.hosts.push({ address: ip, names });
    out.env.push(...linkEnv(link, child, target, ip));
  }
  return out;
}

/** Docker's daemon/links ToEnv(), variable for variable. */
export function linkEnv(link: Link, child: ContainerRecord, target: ContainerRecord, ip: string): string[] {
  const prefix = link.alias.toUpperCase().replace(/-/g, '_');
  const ports = Object.keys(target.config.ExposedPorts ?? {})
    .map((p) => {
      const [port, proto = 'tcp'] = p.split('/');
      return { port: Number(port), proto };
    })
    .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  const env: string[] = [];
  const first = ports.find((p) => p.proto === 'tcp') ?? ports[0];
  if (first) env.push(`${prefix}_PORT=${first.proto}://${ip}:${first.port}`);
  for (const p of ports) {
    const key = `${prefix}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${key}=${p.proto}://${ip}:${p.port}`, `${key}_ADDR=${ip}`, `${key}_PORT=${p.port}`, `${key}_PROTO=${p.proto}`);
  }
  env.push(`${prefix}_NAME=/${child.name}/${link.alias}`);
  for (const kv of target.config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const key = kv.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${key}=${kv.slice(eq + 1)}`);
  }
  return env;
}
