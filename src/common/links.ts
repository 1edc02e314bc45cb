import { invalid } from './errors.js';
import type { ContainerRecord } from './model.js';

// Legacy links as stored on a container (HostConfig.Links, Docker's "/target:/child/alias" form).

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

