import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Where a container's cgroup is. runc places it at the spec's cgroupsPath (/weft/<id>) under
// every hierarchy the host has mounted: on a cgroup v1 (or hybrid) host that is one directory per
// controller (/sys/fs/cgroup/memory/weft/<id>, .../cpuacct/..., .../pids/...), on a pure v2 host
// one directory of the unified tree. We do not guess: the process's own /proc/<pid>/cgroup says
// which path it has in each hierarchy, and /proc/self/mountinfo where each hierarchy is mounted.

export interface CgroupDirs {
  version: 1 | 2;
  /** v2: the one directory. */
  unified?: string;
  /** v1: the directory per controller (memory, cpuacct, cpu, pids, blkio). */
  controllers: Map<string, string>;
}

interface Mounts {
  /** v1 controller (and name=systemd) -> mount point. */
  v1: Map<string, string>;
  v2: string | null;
  /** Whether the v2 tree carries the memory controller (a pure v2 host, not hybrid). */
  v2Controllers: Set<string>;
}

let mounts: Mounts | null = null;

/** The host's cgroup mounts, read once: they do not change under a running daemon. */
function cgroupMounts(): Mounts {
  if (mounts) return mounts;
  const m: Mounts = { v1: new Map(), v2: null, v2Controllers: new Set() };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // id parent major:minor root mountpoint opts [optional...] - fstype source superopts
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const [fstype, , superopts] = right.split(' ');
    const point = left.split(' ')[4];
    if (fstype === 'cgroup2' && !m.v2) m.v2 = point;
    if (fstype === 'cgroup') for (const o of superopts.split(',')) if (!['rw', 'ro', 'relatime'].includes(o) && !m.v1.has(o)) m.v1.set(o, point);
  }
  if (m.v2) {
    try {
      for (const c of readFileSync(join(m.v2, 'cgroup.controllers'), 'utf8').trim().split(/\s+/)) if (c) m.v2Controllers.add(c);
    } catch {
      // no controllers file: an empty hybrid tree
    }
  }
  return (mounts = m);
}

/** The cgroup directories of a process, from its /proc/<pid>/cgroup; null when it is gone. */
export async function cgroupDirsOf(pid: number): Promise<CgroupDirs | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  return parseProcCgroup(text, cgroupMounts());
}

export function parseProcCgroup(text: string, m: Mounts): CgroupDirs {
  const controllers = new Map<string, string>();
  let unifiedPath: string | null = null;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const names = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (names === '') unifiedPath = path;
    for (const name of names.split(',')) {
      const point = name && m.v1.get(name);
      if (point) controllers.set(name, join(point, path));
    }
  }
  // A pure v2 host (the memory controller lives in the unified tree): every file is there.
  if (m.v2 && unifiedPath !== null && (controllers.size === 0 || m.v2Controllers.has('memory'))) {
    return { version: 2, unified: join(m.v2, unifiedPath), controllers };
  }
  return { version: 1, controllers };
}

/** For tests: forget the mounts read (they are read again at the next call). */
export function resetCgroupMounts(): void {
  mounts = null;
}
