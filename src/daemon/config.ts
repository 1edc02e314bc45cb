import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { parseCidr, parseIp } from '../ipam/cidr.js';
import { type PoolSpec, PredefinedPools, parsePoolSpec } from '../ipam/pools.js';
import type { ClusterStoreConfig } from '../cluster/store-cluster.js';
import { parseClusterStore } from './cluster-store-config.js';
import { parseUiAddress, type UiAddress } from '../ui/address.js';

// weftd's configuration: dockerd's flags and daemon.json keys (the subset weft implements).
// Flags and file merge as in dockerd (daemon/config/config.go): a key set in both places is an
// error, naming every such key; a key the file has that no option matches is an error too.

export interface DaemonConfig {
  /** Listen addresses (unix://...), first one is `host`. */
  hosts: string[];
  host: string;
  /** Group of the unix socket (dockerd's -G/--group; default "weft", root's when that group does not exist). */
  group: string;
  dataRoot: string;
  execRoot: string;
  /** Name of the default bridge device (dockerd's --bridge / -b). */
  bridge: string;
  /** docker0-style address/prefix, e.g. 172.17.0.1/16; undefined: the engine picks a free default pool. */
  bip: string | undefined;
  fixedCidr: string | undefined;
  fixedCidrV6: string | undefined;
  mtu: number;
  /** undefined: Docker's default pools. */
  defaultAddressPools: PoolSpec[] | undefined;
  dns: string[];
  ipv6: boolean;
  icc: boolean;
  ipMasq: boolean;
  iptables: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  configFile: string;
  imageSeedDir: string;
  /** --cluster-store etcd://... with --cluster-advertise and --cluster-store-opt; undefined: none. */
  clusterStore: ClusterStoreConfig | undefined;
  /** How weftd reaches the kernel: its agent process (netlink, libnftables) or ip/nft commands. */
  kernelBackend: 'agent' | 'commands';
  /** --ui: where the topology page listens; undefined: no page (it is opt-in). */
  ui: UiAddress | undefined;
  /** Where legacy plugins are looked for (sockets, then .spec/.json files); see pluginDirs(). */
  pluginDirs: { sockets: string[]; specs: string[] };
  /** Deadline of one call to a plugin. */
  pluginTimeoutMs: number;
}

export class DaemonConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonConfigError';
  }
}

export const DEFAULT_CONFIG_FILE = '/etc/weft/daemon.json';
export const DEFAULT_HOST = 'unix:///run/weft/weft.sock';
/** The unix socket's group when it exists (dockerd's `docker`). */
export const DEFAULT_SOCKET_GROUP = 'weft';
export const DEFAULT_IMAGE_SEED_DIR = fileURLToPath(new URL('../../../images', import.meta.url));

type Kind = 'string' | 'bool' | 'int' | 'strings' | 'pools' | 'map';

interface KeyDef {
  key: string; // daemon.json key
  flags: string[]; // long flag names that set it (commander attribute names derive from them)
  kind: Kind;
}

// Every daemon.json key weft understands, with the flag(s) that set the same thing.
const KEYS: KeyDef[] = [
  { key: 'hosts', flags: ['host'], kind: 'strings' },
  { key: 'group', flags: ['group'], kind: 'string' },
  { key: 'data-root', flags: ['data-root'], kind: 'string' },
  { key: 'exec-root', flags: ['exec-root'], kind: 'string' },
  { key: 'bridge', flags: ['bridge', 'bridge-name'], kind: 'string' },
  { key: 'bip', flags: ['bip'], kind: 'string' },
  { key: 'fixed-cidr', flags: ['fixed-cidr'], kind: 'string' },
  { key: 'fixed-cidr-v6', flags: ['fixed-cidr-v6'], kind: 'string' },
  { key: 'mtu', flags: ['mtu'], kind: 'int' },
  { key: 'default-address-pools', flags: ['default-address-pool'], kind: 'pools' },
  { key: 'dns', flags: ['dns'], kind: 'strings' },
  { key: 'ipv6', flags: ['ipv6'], kind: 'bool' },
  { key: 'icc', flags: ['icc'], kind: 'bool' },
  { key: 'ip-masq', flags: ['ip-masq'], kind: 'bool' },
  { key: 'iptables', flags: ['iptables'], kind: 'bool' },
  { key: 'log-level', flags: ['log-level'], kind: 'string' },
  { key: 'image-seed-dir', flags: ['image-seed-dir'], kind: 'string' },
  { key: 'cluster-store', flags: ['cluster-store'], kind: 'string' },
  { key: 'cluster-advertise', flags: ['cluster-advertise'], kind: 'string' },
  { key: 'cluster-store-opts', flags: ['cluster-store-opt'], kind: 'map' },
  { key: 'kernel-backend', flags: ['kernel-backend'], kind: 'string' },
  { key: 'ui', flags: ['ui'], kind: 'string' },
  { key: 'plugin-dirs', flags: ['plugin-dir'], kind: 'strings' },
  { key: 'plugin-timeout', flags: ['plugin-timeout'], kind: 'int' },
];

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Go's strconv.ParseBool, with pflag's error text. */
function parseGoBool(flag: string, v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new DaemonConfigError(`invalid argument "${v}" for "--${flag}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function buildProgram(): Command {
  const p = new Command('weftd');
  p.description('weft daemon: a Docker-compatible container network engine')
    .exitOverride()
    .allowExcessArguments(false)
    .option('-H, --host <address>', `daemon socket to listen on (default "${DEFAULT_HOST}")`, collect)
    .option('-G, --group <group>', 'group for the unix socket (default "weft")')
    .option('--data-root <dir>', 'root directory of persistent state (default "/var/lib/weft")')
    .option('--exec-root <dir>', 'root directory of execution state (default "/run/weft")')
    .option('-b, --bridge-name <name>', 'name of the default bridge device (default "weft0")')
    .option('--bridge <name>', 'same as --bridge-name (dockerd spelling)')
    .option('--bip <cidr>', 'default bridge address and prefix, e.g. 172.17.0.1/16')
    .option('--fixed-cidr <cidr>', 'IPv4 subnet for fixed IPs on the default bridge')
    .option('--fixed-cidr-v6 <cidr>', 'IPv6 subnet for fixed IPs on the default bridge')
    .option('--mtu <bytes>', 'MTU of the default bridge (default 1500)')
    .option('--default-address-pool <base=CIDR,size=N>', 'default address pool for new networks (repeatable)', collect)
    .option('--dns <ip>', 'DNS server for containers (repeatable)', collect)
    .option('--ipv6 [bool]', 'enable IPv6 on the default bridge')
    .option('--icc [bool]', 'enable inter-container communication (default true)')
    .option('--ip-masq [bool]', 'enable IP masquerading (default true)')
    .option('--iptables [bool]', 'enable firewall rules (default true)')
    .option('--config-file <path>', `daemon configuration file (default "${DEFAULT_CONFIG_FILE}")`)
    .option('-l, --log-level <level>', 'log level: debug, info, warn, error, fatal (default "info")')
    .option('--image-seed-dir <dir>', 'directory of seed image tarballs (weft only)')
    .option('--cluster-store <url>', 'URL of the distributed storage backend (etcd://host:port[,host:port])')
    .option('--cluster-advertise <address>', 'address or interface name to advertise')
    .option('--cluster-store-opt <key=value>', 'set cluster store options (repeatable)', collect)
    .option('--kernel-backend <agent|commands>', 'kernel access: the weft-kernel agent, or ip/nft processes (weft only; default "agent")')
    .option('--ui <[host:]port>', 'serve the topology page on this address (weft only; host defaults to 127.0.0.1)')
    .option('--plugin-dir <dir>', 'directory searched for legacy plugin sockets and specs (repeatable; replaces the defaults; weft only)', collect)
    .option('--plugin-timeout <seconds>', 'deadline of one call to a plugin (weft only; default 30)');
  return p;
}

/** Go's %v of a decoded JSON value (how dockerd prints file values in conflicts). */
function goFormat(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${goFormat((v as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  if (v === null) return '<nil>';
  return String(v);
}

/** Go's f.Value.String() of a flag as given. */
function flagFormat(kind: Kind, v: unknown): string {
  if (kind === 'strings') return `[${(v as string[]).join(' ')}]`;
  if (kind === 'pools') return (v as string[]).map((s) => {
    try {
      const p = parsePoolSpec(s);
      return `${p.base} ${p.size}`;
    } catch {
      return s;
    }
  }).join(', ');
  if (kind === 'bool') return v === true || v === undefined ? 'true' : String(v);
  if (kind === 'map') return `map[${(v as string[]).map((kv) => kv.replace('=', ':')).sort().join(' ')}]`;
  return String(v);
}

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  const wrap = (msg: string) => new DaemonConfigError(`unable to configure the weft daemon with file ${path}: ${msg}`);
  if (!existsSync(path)) {
    if (explicit) throw wrap(`open ${path}: no such file or directory`);
    return {};
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw wrap((err as Error).message);
  }
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw wrap(`invalid JSON: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw wrap('the configuration must be a JSON object');
  return data as Record<string, unknown>;
}

/** Checks a file value's JSON type and turns it into the flag-like form used by the merge. */
function fromFile(def: KeyDef, v: unknown, path: string): unknown {
  const bad = (expected: string) =>
    new DaemonConfigError(`invalid value for "${def.key}" in ${path}: expected ${expected}, got ${JSON.stringify(v)}`);
  switch (def.kind) {
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('an integer');
      return v;
    case 'strings':
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad('an array of strings');
      return v;
    case 'map':
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw bad('an object of strings');
      return Object.entries(v as Record<string, string>).map(([k, x]) => `${k}=${x}`);
    case 'pools': {
      const ok =
        Array.isArray(v) &&
        v.every(
          (p) =>
            p !== null &&
            typeof p === 'object' &&
            typeof (p as PoolSpec).base === 'string' &&
            typeof (p as PoolSpec).size === 'number' &&
            Object.keys(p as object).every((k) => k === 'base' || k === 'size'),
        );
      if (!ok) throw bad('an array of {"base": "<CIDR>", "size": <prefix length>}');
      return (v as PoolSpec[]).map((p) => ({ base: p.base, size: p.size }));
    }
  }
}

const LOG_LEVELS: Record<string, DaemonConfig['logLevel']> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
};

/**
 * Parses weftd's arguments (without the node and script paths), reads the config file and
 * merges them. Throws DaemonConfigError with a message naming the offending key; --help and
 * --version surface as commander's CommanderError (exitCode 0).
 */
export function parseDaemonArgs(argv: string[]): DaemonConfig {
  const program = buildProgram();
  program.configureOutput({ writeErr: () => undefined });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode !== 0) {
      throw new DaemonConfigError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const opts = program.opts<Record<string, unknown>>();
  const fromCli = (flag: string) => program.getOptionValueSource(camel(flag)) === 'cli';

  const configFile = (opts.configFile as string | undefined) ?? DEFAULT_CONFIG_FILE;
  const file = readConfigFile(configFile, fromCli('config-file'));

  const unknown = Object.keys(file).filter((k) => !KEYS.some((d) => d.key === k)).sort();
  if (unknown.length > 0) {
    throw new DaemonConfigError(
      `unable to configure the weft daemon with file ${configFile}: the following directives don't match any configuration option: ${unknown.join(', ')}`,
    );
  }

  // Flag values (strings as typed), and the conflicts, visited in flag-name order as pflag does.
  const flagValue = new Map<string, unknown>();
  const conflicts: { flag: string; text: string }[] = [];
  for (const def of KEYS) {
    const given = def.flags.filter(fromCli);
    if (given.length === 0) continue;
    const flag = given[0];
    let v = opts[camel(flag)];
    if (def.kind === 'bool') v = v === true ? true : parseGoBool(flag, String(v));
    flagValue.set(def.key, v);
    if (def.key in file) {
      conflicts.push({ flag, text: `${def.key}: (from flag: ${flagFormat(def.kind, v)}, from file: ${goFormat(file[def.key])})` });
    }
  }
  if (conflicts.length > 0) {
    conflicts.sort((a, b) => (a.flag < b.flag ? -1 : a.flag > b.flag ? 1 : 0));
    throw new DaemonConfigError(
      `unable to configure the weft daemon with file ${configFile}: the following directives are specified both as a flag and in the configuration file: ${conflicts.map((c) => c.text).join(', ')}`,
    );
  }
  if (fromCli('bridge') && fromCli('bridge-name') && opts.bridge !== opts.bridgeName) {
    throw new DaemonConfigError(`conflicting options: --bridge ${String(opts.bridge)} and --bridge-name ${String(opts.bridgeName)}`);
  }

  const fileValue = new Map<string, unknown>();
  for (const def of KEYS) if (def.key in file) fileValue.set(def.key, fromFile(def, file[def.key], configFile));
  const get = <T>(key: string): T | undefined => (flagValue.has(key) ? flagValue.get(key) : fileValue.get(key)) as T | undefined;

  // ---- validation (messages name the key) ----
  const hosts = get<string[]>('hosts') ?? [DEFAULT_HOST];
  if (hosts.length === 0) throw new DaemonConfigError('invalid hosts: at least one address is needed');
  for (const h of hosts) {
    if (!/^unix:\/\/\/./.test(h)) throw new DaemonConfigError(`invalid hosts "${h}": weft listens on unix:///path sockets only`);
  }

  const cidrOf = (key: string, family: 4 | 6): string | undefined => {
    const v = get<string>(key);
    if (v === undefined || v === '') return undefined;
    const c = parseCidr(v);
    if (!c) throw new DaemonConfigError(`invalid ${key} "${v}": invalid CIDR address: ${v}`);
    if (c.family !== family) throw new DaemonConfigError(`invalid ${key} "${v}": not an IPv${family} CIDR`);
    return v;
  };
  const bip = cidrOf('bip', 4);
  const fixedCidr = cidrOf('fixed-cidr', 4);
  const fixedCidrV6 = cidrOf('fixed-cidr-v6', 6);

  let mtu = 1500;
  const mtuRaw = get<unknown>('mtu');
  if (mtuRaw !== undefined) {
    const s = String(mtuRaw);
    if (!/^\d+$/.test(s)) throw new DaemonConfigError(`invalid mtu "${s}": must be an integer`);
    const n = Number(s);
    if (n !== 0 && (n < 68 || n > 65535)) throw new DaemonConfigError(`invalid mtu ${n}: must be between 68 and 65535 (0 for the default)`);
    if (n !== 0) mtu = n;
  }

  let defaultAddressPools: PoolSpec[] | undefined;
  const poolsRaw = get<unknown>('default-address-pools');
  if (poolsRaw !== undefined) {
    try {
      defaultAddressPools = flagValue.has('default-address-pools')
        ? (poolsRaw as string[]).map(parsePoolSpec)
        : (poolsRaw as PoolSpec[]);
      new PredefinedPools(defaultAddressPools); // ipamutils' base/size checks
    } catch (err) {
      throw new DaemonConfigError(`invalid default-address-pools: ${(err as Error).message}`);
    }
    if (defaultAddressPools.length === 0) defaultAddressPools = undefined;
  }

  const dns = get<string[]>('dns') ?? [];
  for (const d of dns) {
    if (!parseIp(d)) throw new DaemonConfigError(`invalid dns "${d}": IP address is not correctly formatted: ${d}`);
  }

  const levelRaw = get<string>('log-level') ?? 'info';
  const logLevel = LOG_LEVELS[levelRaw.toLowerCase()];
  if (!logLevel) throw new DaemonConfigError(`invalid log-level "${levelRaw}": unable to parse logging level: ${levelRaw}`);

  const bridge = get<string>('bridge') ?? 'weft0';
  if (!/^[^\s/:]{1,15}$/.test(bridge)) {
    throw new DaemonConfigError(`invalid bridge "${bridge}": must be 1 to 15 characters, without spaces, "/" or ":"`);
  }

  let clusterStore: ClusterStoreConfig | undefined;
  try {
    clusterStore = parseClusterStore(get<string>('cluster-store'), get<string>('cluster-advertise'), get<string[]>('cluster-store-opts') ?? []);
  } catch (err) {
    throw new DaemonConfigError((err as Error).message);
  }

  const kernelBackend = get<string>('kernel-backend') ?? 'agent';
  if (kernelBackend !== 'agent' && kernelBackend !== 'commands') {
    throw new DaemonConfigError(`invalid kernel-backend "${kernelBackend}": must be agent or commands`);
  }

  let ui: UiAddress | undefined;
  const uiRaw = get<string>('ui');
  if (uiRaw !== undefined && uiRaw !== '') {
    try {
      ui = parseUiAddress(uiRaw);
    } catch (err) {
      throw new DaemonConfigError((err as Error).message);
    }
  }

  const execRoot = resolve(get<string>('exec-root') ?? '/run/weft');
  const given = get<string[]>('plugin-dirs');
  for (const d of given ?? []) if (!d.startsWith('/')) throw new DaemonConfigError(`invalid plugin-dirs "${d}": must be an absolute path`);
  const pluginDirs = given?.length ? { sockets: given, specs: given } : defaultPluginDirs(execRoot);
  const timeoutRaw = get<unknown>('plugin-timeout');
  let pluginTimeoutMs = 30_000;
  if (timeoutRaw !== undefined) {
    const s = String(timeoutRaw);
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 3600) throw new DaemonConfigError(`invalid plugin-timeout "${s}": must be a whole number of seconds from 1 to 3600`);
    pluginTimeoutMs = Number(s) * 1000;
  }

  const bool = (key: string, dflt: boolean) => get<boolean>(key) ?? dflt;
  return {
    hosts,
    host: hosts[0],
    group: get<string>('group') ?? DEFAULT_SOCKET_GROUP,
    dataRoot: resolve(get<string>('data-root') ?? '/var/lib/weft'),
    execRoot,
    bridge,
    bip,
    fixedCidr,
    fixedCidrV6,
    mtu,
    defaultAddressPools,
    dns,
    ipv6: bool('ipv6', false),
    icc: bool('icc', true),
    ipMasq: bool('ip-masq', true),
    iptables: bool('iptables', true),
    logLevel,
    configFile,
    imageSeedDir: resolve(get<string>('image-seed-dir') ?? DEFAULT_IMAGE_SEED_DIR),
    clusterStore,
    kernelBackend,
    ui,
    pluginDirs,
    pluginTimeoutMs,
  };
}

/** dockerd's plugin directories, then weft's own (/etc/weft/plugins, <exec-root>/plugins). */
export function defaultPluginDirs(execRoot: string): { sockets: string[]; specs: string[] } {
  const own = join(execRoot, 'plugins');
  return { sockets: ['/run/docker/plugins', own], specs: ['/etc/docker/plugins', '/usr/lib/docker/plugins', '/etc/weft/plugins', own] };
}
