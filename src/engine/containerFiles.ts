import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../common/model.js';
import type { ResolvInput } from '../dns/resolv.js';

// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, written on the host and
// bind-mounted in, so the daemon can rewrite them while the container runs (as Docker does).

export const CONTAINER_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'] as const;

export function containerDir(dataRoot: string, id: string): string {
  return join(dataRoot, 'containers', id);
}

export function fileMounts(dataRoot: string, id: string): Record<string, string> {
  const dir = containerDir(dataRoot, id);
  return { '/etc/hosts': join(dir, 'hosts'), '/etc/hostname': join(dir, 'hostname'), '/etc/resolv.conf': join(dir, 'resolv.conf') };
}

export function hostnameOf(c: ContainerRecord): string {
  return c.config.Hostname || c.id.slice(0, 12);
}

export interface HostsEntry {
  address: string;
  names: string[];
}

export function renderHosts(c: ContainerRecord, endpoints: EndpointRecord[], extra: HostsEntry[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of extra) lines.push(`${e.address}\t${e.names.join(' ')}`);
  const host = hostnameOf(c);
  const names = c.config.Domainname ? `${host}.${c.config.Domainname} ${host}` : host;
  for (const ep of endpoints) {
    if (ep.ipv4) lines.push(`${ep.ipv4.split('/')[0]}\t${names}`);
    if (ep.ipv6) lines.push(`${ep.ipv6.split('/')[0]}\t${names}`);
  }
  return lines.join('\n') + '\n';
}

export function renderResolvConf(r: ResolvInput): string {
  const lines: string[] = [];
  for (const ns of r.nameservers) lines.push(`nameserver ${ns}`);
  if (r.search.length) lines.push(`search ${r.search.join(' ')}`);
  if (r.options.length) lines.push(`options ${r.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export function writeContainerFiles(
  dataRoot: string,
  c: ContainerRecord,
  endpoints: EndpointRecord[],
  networks: Map<string, NetworkRecord>,
  resolv: ResolvInput,
  extraHosts: HostsEntry[],
): void {
  const mounts = fileMounts(dataRoot, c.id);
  mkdirSync(containerDir(dataRoot, c.id), { recursive: true });
  // hosts is rewritten in place (not renamed): a bind mount pins the inode it was made on.
  writeFileSync(mounts['/etc/hosts'], renderHosts(c, endpoints.filter((e) => networks.has(e.networkId)), extraHosts));
  writeFileSync(mounts['/etc/hostname'], hostnameOf(c) + '\n');
  writeFileSync(mounts['/etc/resolv.conf'], renderResolvConf(resolv));
}
