import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { invalid } from '../common/errors.js';
import { msg } from './messages.js';

// Docker's address arguments: --listen-addr and --advertise-addr take "IP", "IP:port",
// "interface" or "interface:port"; with no advertise address, a manager uses the address of
// the default route's interface, as dockerd does (daemon/cluster/listen_addr.go).

export const SWARM_PORT = 2377;

export interface HostPort {
  host: string;
  port: number;
}

/** Splits "host[:port]" ("[v6]:port" for IPv6); an interface name becomes its IPv4 address. */
export function parseAddr(value: string, defaultPort: number, what: string): HostPort {
  let host = value;
  let port = defaultPort;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? (isIP(value) === 6 ? null : /^([^:]*)(?::(\d+))?$/.exec(value));
  if (m) {
    host = m[1];
    if (m[2] !== undefined) port = Number(m[2]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid ${what} ${JSON.stringify(value)}: invalid port`);
  if (host === '' || isIP(host)) return { host: host || '0.0.0.0', port };
  const iface = networkInterfaces()[host];
  const v4 = iface?.filter((a) => a.family === 'IPv4' && !a.internal) ?? [];
  if (!iface) throw invalid(`invalid ${what} ${JSON.stringify(value)}: no such interface`);
  if (v4.length !== 1) throw invalid(`interface ${host} has ${v4.length ? 'more than one' : 'no'} IPv4 address`);
  return { host: v4[0].address, port };
}

/** The IPv4 address of the default route's interface, or Docker's error when there is none. */
export function defaultRouteAddr(): string {
  let dev: string | undefined;
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 7 && f[1] === '00000000' && f[7] === '00000000') dev = f[0];
    }
  } catch {
    /* no routes table: no default route */
  }
  const v4 = dev ? networkInterfaces()[dev]?.filter((a) => a.family === 'IPv4' && !a.internal) ?? [] : [];
  if (v4.length === 0) throw invalid(msg.noAdvertiseAddr);
  return v4[0].address;
}

/** The advertise address of init/join: given, else the listen address if specific, else the default route's. */
export function advertiseAddr(advertise: string | undefined, listen: HostPort, fallback?: string): HostPort {
  if (advertise) return parseAddr(advertise, listen.port, 'advertise address');
  if (listen.host !== '0.0.0.0' && listen.host !== '::') return listen;
  return { host: fallback ?? defaultRouteAddr(), port: listen.port };
}

export const joinHostPort = (h: HostPort) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`);
