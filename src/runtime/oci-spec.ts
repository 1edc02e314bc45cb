// Builds the OCI runtime spec (config.json) for a container, with Docker's defaults.
// Security as Docker 20.10 sets it (daemon/oci_linux.go): the container's capabilities as
// bounding, permitted and effective sets, none inheritable (CVE-2022-24769), Docker's seccomp
// profile; --privileged: all capabilities, no seccomp, no masked or read-only paths, /sys and the
// cgroup mount writable, every host device.
import type { RunSpec } from './types.js';
import { invalid } from '../common/errors.js';
import { DEFAULT_SECURITY, seccompOf } from './security.js';
import { hostDevices } from './devices.js';

export { DEFAULT_CAPS } from './caps.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** Resolves Docker's --user ("", "name", "uid", "name:group", "uid:gid") against the image's /etc/passwd and /etc/group text. */
export function resolveUser(user: string, passwd: string, group: string): ResolvedUser {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2);
  const users = passwd.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4);
  const groups = group.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3);
  let uid: number;
  let gid: number;
  const byName = users.find((f) => f[0] === u);
  if (byName) {
    uid = Number(byName[2]);
    gid = Number(byName[3]);
  } else if (/^\d+$/.test(u)) {
    uid = Number(u);
    const byUid = users.find((f) => Number(f[2]) === uid);
    gid = byUid ? Number(byUid[3]) : 0;
  } else {
    throw invalid(`unable to find user ${u}: no matching entries in passwd file`);
  }
  if (g !== undefined && g !== '') {
    const grp = groups.find((f) => f[0] === g);
    if (grp) gid = Number(grp[2]);
    else if (/^\d+$/.test(g)) gid = Number(g);
    else throw invalid(`unable to find group ${g}: no matching entries in group file`);
  }
  return { uid, gid };
}

/**
 * Docker-style environment: image/user env plus PATH, HOSTNAME and (for TTYs) TERM when missing.
 * An entry without "=" removes that variable, as in Docker (runc would refuse it).
 */
export function containerEnv(spec: Pick<RunSpec, 'env' | 'hostname' | 'tty'>): string[] {
  let env: string[] = [];
  for (const e of spec.env) {
    const key = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    env = env.filter((x) => !x.startsWith(`${key}=`));
    if (e.includes('=')) env.push(e);
  }
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  if (!has('PATH')) env.unshift(DEFAULT_PATH);
  if (!has('HOSTNAME')) env.push(`HOSTNAME=${spec.hostname}`);
  if (spec.tty && !has('TERM')) env.push('TERM=xterm');
  return env;
}

/** What runc would refuse at start, refused at create instead (with Docker's texts where it has them). */
export function checkProcess(env: string[], workingDir: string): void {
  for (const e of env) if (e.startsWith('=')) throw invalid(`invalid environment variable: ${e}`);
  if (workingDir && !workingDir.startsWith('/')) throw invalid(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
}

export function buildOciSpec(spec: RunSpec, rootfs: string, user: ResolvedUser): Record<string, unknown> {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (spec.netns !== 'host') namespaces.push({ type: 'network', path: spec.netns });
  const sec = spec.security ?? DEFAULT_SECURITY;
  const caps = [...sec.caps];
  const ro = sec.privileged ? [] : ['ro'];
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...ro, 'nosuid', 'noexec', 'nodev', 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  for (const [dest, src] of Object.entries(spec.files)) {
    mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', 'rw'] });
  }
  const seccomp = seccompOf(sec);
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: spec.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}) },
      args: spec.args,
      env: containerEnv(spec),
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sec.noNewPrivileges,
    },
    root: { path: rootfs, readonly: false },
    hostname: spec.hostname,
    mounts,
    linux: {
      resources: { devices: [{ allow: sec.privileged, access: 'rwm' }] },
      ...(sec.privileged ? { devices: hostDevices() } : {}),
      cgroupsPath: `/weft/${spec.id}`,
      namespaces,
      maskedPaths: sec.privileged ? [] : MASKED,
      readonlyPaths: sec.privileged ? [] : READONLY,
      ...(seccomp ? { seccomp } : {}),
    },
  };
}
