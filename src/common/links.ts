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

