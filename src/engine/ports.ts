import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { invalid, systemError } from '../common/errors.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord, PortMapping } from '../common/model.js';

// Published ports (`-p`, `-P`): validation at create, host port allocation at start, and the
// JSON Docker shows for them. The kernel side (nft dnat maps) is the bridge driver's.
//
// Docker's rules, kept here:
//  - only ports in Config.ExposedPorts are published (the CLI adds every -p port there);
//    PortBindings[port] gives the bindings, none + PublishAllPorts = one ephemeral binding;
//  - HostIp '' means the network's host_binding_ipv4, else 0.0.0.0 (plus :: when the endpoint
//    has an IPv6 address: weft publishes v6 only where it can DNAT to a v6 address);
//  - HostPort '' is ephemeral, from ip_local_port_range (Docker falls back to 49153-65535),
//    one port shared by the 0.0.0.0 and :: bindings; 'a-b' takes the first free one;
//  - a port is taken per protocol and host address; 0.0.0.0 overlaps every IPv4 address and
//    :: every IPv6 one (Docker would fail the same way, later, in its proxy's bind()).

export const HOST_MODE_WARNING = 'Published ports are discarded when using host network mode';

type Proto = PortMapping['proto'];
const PROTOS: Proto[] = ['tcp', 'udp', 'sctp'];

interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** A binding to make at start, before a host port is chosen. */
export interface PortRequest {
  proto: Proto;
  containerPort: number;
  /** '' (the network's default), or an address. */
  hostIp: string;
  /** Inclusive range; 0-0 = ephemeral. */
  hostPortStart: number;
  hostPortEnd: number;
}

const specErr = (s: string) => invalid(`invalid port specification: ${JSON.stringify(s)}`);

/** go-connections nat.ParsePortRange: "80" or "8000-8010", each 0..65535. */
export function parsePortRange(s: string): [number, number] | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return null;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) return null;
  return [a, b];
}

/** "80/tcp" -> {port, proto}; Docker's nat.SplitProtoPort (no proto = tcp). */
export function splitProtoPort(key: string): { port: string; proto: string } {
  const i = key.lastIndexOf('/');
  if (i < 0) return { port: key, proto: 'tcp' };
  return { port: key.slice(0, i), proto: key.slice(i + 1) || 'tcp' };
}

function bindingsOf(hostConfig: Record<string, unknown>): Record<string, PortBinding[] | null> {
  const pb = hostConfig.PortBindings;
  return pb && typeof pb === 'object' ? (pb as Record<string, PortBinding[] | null>) : {};
}

/** Create-time checks, Docker's texts (400). */
export function validatePortBindings(hostConfig: Record<string, unknown>): void {
  for (const [key, list] of Object.entries(bindingsOf(hostConfig))) {
    const { port } = splitProtoPort(key);
    if (!parsePortRange(port)) throw specErr(port);
    for (const b of list ?? []) {
      const hostPort = splitProtoPort(b?.HostPort ?? '').port;
      if (hostPort !== '' && !parsePortRange(hostPort)) throw specErr(hostPort);
      // Docker accepts any HostIp here and fails later; weft rejects it at once.
      const ip = b?.HostIp ?? '';
      if (ip !== '' && !isIP(ip)) throw invalid(`invalid host IP address in port binding: ${JSON.stringify(ip)}`);
    }
  }
}

/** Warnings of the create response. */
export function createWarnings(c: ContainerRecord, sharesHost: boolean): string[] {
  if (sharesHost && Object.keys(bindingsOf(c.hostConfig)).length > 0) return [HOST_MODE_WARNING];
  return [];
}

/** Docker's ExposedPorts merge: the image's, then the request's. */
export function mergeExposedPorts(image: Record<string, object> | null | undefined, req: Record<string, object> | null | undefined): Record<string, object> | null {
  if (!image && !req) return null;
  const out: Record<string, object> = {};
  for (const k of Object.keys(image ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = {};
  for (const k of Object.keys(req ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = {};
  return out;
}

/** The bindings a container asks for, in Docker's order (exposed ports sorted). */
export function portRequests(c: ContainerRecord): PortRequest[] {
  const bindings = bindingsOf(c.hostConfig);
  const publishAll = Boolean(c.hostConfig.PublishAllPorts);
  const out: PortRequest[] = [];
  for (const key of sortedPortKeys(Object.keys(c.config.ExposedPorts ?? {}))) {
    const { port, proto } = splitProtoPort(key);
    const range = parsePortRange(port);
    if (!range || range[0] !== range[1] || range[0] === 0 || !PROTOS.includes(proto as Proto)) continue;
    let list: PortBinding[] = bindings[key] ?? bindings[port] ?? [];
    if (list.length === 0 && publishAll) list = [{}];
    for (const b of list) {
      const hp = splitProtoPort(b?.HostPort ?? '').port;
      const r = hp === '' ? [0, 0] : parsePortRange(hp);
      if (!r) throw specErr(hp);
      out.push({ proto: proto as Proto, containerPort: range[0], hostIp: b?.HostIp ?? '', hostPortStart: r[0], hostPortEnd: r[1] });
    }
  }
  return out;
}

export function sortedPortKeys(keys: string[]): string[] {
  return [...keys].sort((a, b) => {
    const pa = splitProtoPort(a);
    const pb = splitProtoPort(b);
    return parseInt(pa.port, 10) - parseInt(pb.port, 10) || (pa.proto < pb.proto ? -1 : pa.proto > pb.proto ? 1 : 0);
  });
}

/** The ephemeral range: the kernel's ip_local_port_range, else Docker's fallback. */
export function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a > 0 && b >= a && b <= 65535) return [a, b];
  } catch {
    /* fall through */
  }
  return [49153, 65535];
}

const hostPortText = (ip: string, port: number | string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Two host addresses of one protocol clash when equal or when one is the family's wildcard. */
function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.includes(':') !== b.includes(':')) return false;
  const any = a.includes(':') ? '::' : '0.0.0.0';
  return a === any || b === any;
}

/**
 * Chooses host ports. Keeps, like Docker's portallocator, the last ephemeral port handed out
 * per protocol so that a port just released is not reused at once (stale conntrack entries).
 */
export class PortAllocator {
  private readonly last = new Map<Proto, number>();

  constructor(private readonly range: () => [number, number] = ephemeralRange) {}

  /**
   * Resolves requests for the endpoint `ep` of `net` given every mapping in use elsewhere.
   * Throws WeftError('System') with Docker's text (HTTP 500) on a conflict.
   */
  allocate(c: ContainerRecord, net: NetworkRecord, ep: EndpointRecord, requests: PortRequest[], inUse: PortMapping[]): PortMapping[] {
    const taken = [...inUse];
    const out: PortMapping[] = [];
    const failed = (what: string) =>
      systemError(`driver failed programming external connectivity on endpoint ${c.name} (${ep.id}): ${what}`);
    const defaultIp = net.driverState?.hostBindingIpv4 || net.options?.['com.docker.network.bridge.host_binding_ipv4'] || '';
    for (const r of requests) {
      let ips: string[];
      const want = r.hostIp || defaultIp;
      if (want === '' || want === '0.0.0.0') ips = ep.ipv4 ? ['0.0.0.0'] : [];
      else ips = [want];
      if ((want === '' || want === '0.0.0.0' || want === '::') && ep.ipv6 && !ips.includes('::')) ips.push('::');
      ips = ips.filter((ip) => (ip.includes(':') ? ep.ipv6 : ep.ipv4));
      if (ips.length === 0) {
        if (want.includes(':')) throw failed(`cannot publish ${hostPortText(want, r.hostPortStart || '')}: the endpoint has no IPv6 address`);
        continue;
      }
      const free = (port: number) => ips.every((ip) => !taken.some((t) => t.proto === r.proto && t.hostPort === port && overlaps(t.hostIp, ip)));
      let port = 0;
      if (r.hostPortStart === 0) {
        const [lo, hi] = this.range();
        const next = (this.last.get(r.proto) ?? lo - 1) + 1;
        const start = next < lo || next > hi ? lo : next;
        for (let i = 0, p = start; i <= hi - lo; i++, p = p >= hi ? lo : p + 1) {
          if (free(p)) {
            port = p;
            break;
          }
        }
        if (!port) throw failed('all ports are allocated');
        this.last.set(r.proto, port);
      } else {
        for (let p = r.hostPortStart; p <= r.hostPortEnd && !port; p++) if (free(p)) port = p;
        if (!port) {
          const bad = ips.find((ip) => taken.some((t) => t.proto === r.proto && t.hostPort === r.hostPortStart && overlaps(t.hostIp, ip))) ?? ips[0];
          const shown = r.hostPortEnd > r.hostPortStart ? `${r.hostPortStart}-${r.hostPortEnd}` : r.hostPortStart;
          throw failed(`Bind for ${hostPortText(bad, shown)} failed: port is already allocated`);
        }
      }
      for (const ip of ips) {
        const m: PortMapping = { proto: r.proto, containerPort: r.containerPort, hostIp: ip, hostPort: port };
        out.push(m);
        taken.push(m);
      }
    }
    return out;
  }
}

/** NetworkSettings.Ports: {} unless running with a sandbox; exposed-only ports map to null. */
export function portsJson(c: ContainerRecord, eps: EndpointRecord[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  if (c.state.status !== 'running' || !c.netnsPath) return out;
  for (const key of sortedPortKeys(Object.keys(c.config.ExposedPorts ?? {}))) out[key] = null;
  for (const ep of eps) {
    for (const m of ep.ports ?? []) {
      const key = `${m.containerPort}/${m.proto}`;
      (out[key] ??= []).push({ HostIp: m.hostIp, HostPort: String(m.hostPort) });
    }
  }
  return out;
}

/** The Ports of GET /containers/json. */
export function listPortsJson(c: ContainerRecord, eps: EndpointRecord[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [key, bindings] of Object.entries(portsJson(c, eps))) {
    const { port, proto } = splitProtoPort(key);
    if (!bindings) out.push({ PrivatePort: Number(port), Type: proto });
    else for (const b of bindings) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}
