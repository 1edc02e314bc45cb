import { isIPv4 } from 'node:net';
import { forbidden, invalid } from '../../common/errors.js';
import type { NetworkRecord } from '../../common/model.js';
import { validIfname } from '../bridge/options.js';

// Macvlan driver options (libnetwork's drivers/macvlan), validated with Docker's texts.
// Unknown options are accepted and ignored, as Docker does (inspect echoes them back).

export const OPT_PARENT = 'parent';
export const OPT_MODE = 'macvlan_mode';
/** weft's own: a macvlan interface in the daemon's namespace so that it can reach its containers. */
export const OPT_HOST_SHIM = 'weft.macvlan.host_shim';

export const MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanMode = (typeof MODES)[number];

/** ifalias weft puts on parent links it creates (VLAN sub-interfaces), so it only ever deletes its own. */
export const OWNER_ALIAS_PREFIX = 'weft-macvlan:';

export interface MacvlanConfig {
  /** Parent interface in the daemon's namespace (eth0, eth0.50, or dm-<12 hex> when none was given). */
  parent: string;
  mode: MacvlanMode;
  /** No -o parent: Docker makes a dummy link dm-<12 hex> (containers then only see each other). */
  dummyParent: boolean;
  /** Host shim address in CIDR form ('' = none). */
  hostShim: string;
  /** Host shim interface name (mvs-<11 hex>), '' without a shim. */
  shimName: string;
}

/** Docker's dummy parent name: "dm-" + the truncated network id. */
export const dummyName = (netId: string) => `dm-${netId.slice(0, 12)}`;

/** Host shim interface name: 15 characters, the kernel's limit ("mvs-" + 11 hex of the network id). */
export const shimName = (netId: string) => `mvs-${netId.slice(0, 11)}`;

/** Validates net.options; `existing` is every stored network (any driver). Pure: no kernel access. */
export function parseMacvlanOptions(net: NetworkRecord, existing: NetworkRecord[]): MacvlanConfig {
  const o = net.options ?? {};
  if (!net.ipam.config.some((c) => c.Subnet && !c.Subnet.includes(':') && c.Subnet !== '0.0.0.0/0')) {
    throw invalid('ipv4 pool is empty');
  }
  const rawMode = o[OPT_MODE] ?? '';
  const mode = (rawMode === '' ? 'bridge' : rawMode) as MacvlanMode;
  if (!MODES.includes(mode)) {
    throw invalid(`requested macvlan mode '${rawMode}' is not valid, 'bridge' mode is the macvlan driver default`);
  }
  const given = o[OPT_PARENT] ?? '';
  if (given === 'lo') throw invalid('loopback interface is not a valid macvlan parent link');
  if (given !== '' && !validIfname(given)) {
    throw invalid(`invalid parent interface name ${JSON.stringify(given)}: must be 1-15 characters of [A-Za-z0-9_.@+-]`);
  }
  const cfg: MacvlanConfig = {
    parent: given || dummyName(net.id),
    mode,
    dummyParent: given === '',
    hostShim: '',
    shimName: '',
  };
  for (const other of existing) {
    if (other.id === net.id || other.driver !== 'macvlan') continue;
    if (other.driverState?.parent === cfg.parent) {
      throw forbidden(`network ${dummyName(other.id)} is already using parent interface ${cfg.parent}`);
    }
  }
  const shim = o[OPT_HOST_SHIM];
  if (shim !== undefined && shim !== '') {
    cfg.hostShim = parseHostShim(net, shim, cfg);
    cfg.shimName = shimName(net.id);
  }
  return cfg;
}

/** Checks -o weft.macvlan.host_shim=<ipv4>/<prefix>; returns it normalised. */
function parseHostShim(net: NetworkRecord, value: string, cfg: MacvlanConfig): string {
  const bad = (why: string) => invalid(`invalid ${OPT_HOST_SHIM} value ${JSON.stringify(value)}: ${why}`);
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(value);
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) throw bad('want an IPv4 address with a prefix length, e.g. 192.168.1.250/24');
  if (cfg.dummyParent) throw bad('a host shim needs -o parent (a network without one only exists inside the host)');
  if (cfg.mode !== 'bridge') throw bad(`a host shim only reaches containers in macvlan_mode bridge, not ${cfg.mode}`);
  const ip = m[1];
  const pool = net.ipam.config.find((p) => !p.Subnet.includes(':') && cidrContains(p.Subnet, ip));
  if (!pool) throw bad(`${ip} is not in the network's IPv4 subnets (${net.ipam.config.map((p) => p.Subnet).join(', ')})`);
  if (pool.Gateway === ip) throw bad(`${ip} is the network's gateway`);
  // The shim's address must never be handed to a container: reserved with --aux-address, or
  // outside the --ip-range the containers' addresses come from.
  const reserved = Object.values(pool.AuxiliaryAddresses ?? {}).includes(ip);
  const outsideRange = Boolean(pool.IPRange) && !cidrContains(pool.IPRange!, ip);
  if (!reserved && !outsideRange) {
    throw bad(`${ip} could be given to a container: reserve it with --aux-address host=${ip} (or pick one outside --ip-range)`);
  }
  return value;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base, lenStr] = cidr.split('/');
  const len = Number(lenStr ?? 32);
  if (!base || !isIPv4(base) || !isIPv4(ip)) return false;
  const size = 2 ** (32 - len);
  const start = Math.floor(ipv4ToInt(base) / size) * size;
  const n = ipv4ToInt(ip);
  return n >= start && n < start + size;
}

/** What is stored as NetworkRecord.driverState (strings only). */
export function macvlanState(cfg: MacvlanConfig): Record<string, string> {
  return {
    parent: cfg.parent,
    mode: cfg.mode,
    dummyParent: String(cfg.dummyParent),
    hostShim: cfg.hostShim,
    shimName: cfg.shimName,
  };
}

/** Reads driverState back; null when the network never got one (prepare failed). */
export function configOf(net: NetworkRecord): MacvlanConfig | null {
  const s = net.driverState ?? {};
  if (!s.parent || !validIfname(s.parent) || !MODES.includes(s.mode as MacvlanMode)) return null;
  if (s.shimName && !validIfname(s.shimName)) return null;
  return {
    parent: s.parent,
    mode: s.mode as MacvlanMode,
    dummyParent: s.dummyParent === 'true',
    hostShim: s.hostShim ?? '',
    shimName: s.shimName ?? '',
  };
}

export interface VlanPlan {
  /** The existing interface the VLAN goes on (eth0). */
  link: string;
  id: number;
  /** The sub-interface to create (eth0.50). */
  name: string;
}

/**
 * Docker's reading of a parent that does not exist: "eth0.50" means VLAN 50 on eth0. Throws
 * Docker's texts; `linkExists` says whether an interface exists in the daemon's namespace.
 */
export function vlanPlan(parent: string, linkExists: (name: string) => boolean): VlanPlan {
  if (!parent.includes('.')) throw invalid(`invalid subinterface vlan name ${parent}, example formatting is eth0.10`);
  const parts = parent.split('.');
  if (parts.length !== 2) {
    throw invalid(`required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received ${parent}`);
  }
  const [link, vid] = parts as [string, string];
  if (!/^[+-]?\d+$/.test(vid)) throw invalid(`unable to parse a valid vlan id from: ${vid} (ex. eth0.10 for vlan 10)`);
  if (!linkExists(link)) throw invalid(`-o parent interface does was not found on the host: ${link}`);
  const id = Number(vid);
  if (id > 4094 || id < 1) throw invalid(`vlan id must be between 1-4094, received: ${id}`);
  return { link, id, name: parent };
}
