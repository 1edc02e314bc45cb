import { lstatSync, readFileSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';

// Where legacy (v1) plugins are found, as dockerd's pkg/plugins does it: a socket <dir>/<name>.sock
// or <dir>/<name>/<name>.sock, else a spec file <dir>/<name>.spec (one URL: unix:///path or
// tcp://host:port) or <dir>/<name>.json ({"Name", "Addr"}), the same two layouts. Socket
// directories are searched before spec directories. A found entry is trusted only when root owns
// it and every directory above it, none of them writable by group or others (a sticky directory
// such as /tmp excepted): anybody else could put a plugin there and be handed containers.

/** dockerd's search paths; weft adds its own under its exec root (config.ts). */
export const DOCKER_SOCKET_DIRS = ['/run/docker/plugins'];
export const DOCKER_SPEC_DIRS = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];

export interface PluginDirs {
  sockets: string[];
  specs: string[];
}

export interface PluginAddress {
  name: string;
  /** unix:///path/x.sock or tcp://host:port */
  addr: string;
  /** The socket or spec file it was found through. */
  source: string;
}

export class PluginTrustError extends Error {}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function candidates(dir: string, name: string, ext: string): string[] {
  return [join(dir, name + ext), join(dir, name, name + ext)];
}

function statOrNull(p: string, follow: boolean): Stats | null {
  try {
    return follow ? statSync(p) : lstatSync(p);
  } catch {
    return null;
  }
}

const unsafeMode = (st: Stats) => (st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & 0o1000) !== 0);

/**
 * Throws PluginTrustError unless root owns path and every directory above it, and none of them
 * can be written by group or others (sockets excepted for their own mode: connecting needs write
 * permission on the socket, and a plugin may grant it).
 */
export function checkTrusted(path: string, uid = 0): void {
  const abs = resolve(path);
  const st = statOrNull(abs, true);
  if (!st) throw new PluginTrustError(`${abs}: not found`);
  if (st.uid !== uid) throw new PluginTrustError(`${abs} is owned by uid ${st.uid}, not root: not trusted`);
  if (!st.isSocket() && unsafeMode(st)) throw new PluginTrustError(`${abs} is writable by group or others: not trusted`);
  for (let dir = dirname(abs); ; dir = dirname(dir)) {
    const d = statOrNull(dir, true);
    if (!d) throw new PluginTrustError(`${dir}: not found`);
    if (d.uid !== uid) throw new PluginTrustError(`${dir} is owned by uid ${d.uid}, not root: plugins under it are not trusted`);
    if (unsafeMode(d)) throw new PluginTrustError(`${dir} is writable by group or others: plugins under it are not trusted`);
    if (dir === '/') return;
  }
}

/** Parses a .spec file's text (dockerd: one URL with a scheme). */
export function parseSpec(text: string): string {
  const addr = text.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(addr);
  if (!m) throw new Error('Unknown protocol');
  return addr;
}

/** Parses a .json spec ({"Name", "Addr", "TLSConfig"}). */
export function parseJsonSpec(text: string): string {
  const v = JSON.parse(text) as { Addr?: unknown };
  if (typeof v?.Addr !== 'string' || !v.Addr) throw new Error('no Addr in plugin spec');
  return parseSpec(v.Addr);
}

export class PluginDiscovery {
  constructor(
    private readonly dirs: PluginDirs,
    private readonly trustUid = 0,
  ) {}

  /** The plugin's address, or null when no directory has it; throws PluginTrustError for an untrusted find. */
  find(name: string): PluginAddress | null {
    if (!SAFE_NAME.test(name)) return null;
    for (const dir of this.dirs.sockets) {
      for (const p of candidates(dir, name, '.sock')) {
        const st = statOrNull(p, true);
        if (!st?.isSocket()) continue;
        checkTrusted(p, this.trustUid);
        return { name, addr: `unix://${resolve(p)}`, source: p };
      }
    }
    for (const dir of this.dirs.specs) {
      for (const ext of ['.spec', '.json']) {
        for (const p of candidates(dir, name, ext)) {
          const st = statOrNull(p, true);
          if (!st?.isFile()) continue;
          checkTrusted(p, this.trustUid);
          const text = readFileSync(p, 'utf8');
          const addr = ext === '.json' ? parseJsonSpec(text) : parseSpec(text);
          if (addr.startsWith('unix://')) checkTrusted(addr.slice('unix://'.length), this.trustUid);
          return { name, addr, source: p };
        }
      }
    }
    return null;
  }

  /** Every plugin name the directories hold (dockerd's plugins.Scan). */
  scan(): string[] {
    const names = new Set<string>();
    const walk = (dir: string, depth: number, want: (st: Stats, file: string) => boolean) => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e);
        const st = statOrNull(p, false);
        if (!st) continue;
        if (st.isDirectory() && depth === 0) walk(p, 1, want);
        else if (want(st, e)) names.add(basename(e, extname(e)));
      }
    };
    for (const dir of this.dirs.sockets) walk(dir, 0, (st) => st.isSocket());
    for (const dir of this.dirs.specs) walk(dir, 0, (st, f) => st.isFile() && ['.spec', '.json'].includes(extname(f)));
    return [...names].sort();
  }
}
