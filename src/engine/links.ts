import { conflict, invalid, notFound } from '../common/errors.js';
import type { HostsEntry } from './containerFiles.js';
import { isDefaultBridge, type ContainerRecord } from '../common/model.js';
import { linkPath, linksOf, parseLink, type Link } from '../common/links.js';
import type { Registry } from './registry.js';

// Legacy links (`--link alpine1:db`), the default bridge's way to share names and environment:
// the target's address goes into /etc/hosts under the alias, its name and hostname, and Docker's
// link variables (DB_NAME, DB_PORT_80_TCP_ADDR, DB_ENV_*...) into the new container's env.

/** The default bridge, when the child is on it: legacy links live there only. */
function childBridge(registry: Registry, child: ContainerRecord): string | null {
  for (const att of child.networks) {
    const net = registry.networks.byId.get(att.networkId);
    if (net && isDefaultBridge(net)) return net.id;
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
