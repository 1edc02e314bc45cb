// Builds the OCI runtime spec (config.json) for a container, with Docker's defaults.
import type { RunSpec } from './types.js';
import { invalid } from '../common/errors.js';

export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

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

/** Docker-style environment: image/user env plus PATH, HOSTNAME and (for TTYs) TERM when missing. */
export function containerEnv(spec: Pick<RunSpec, 'env' | 'hostname' | 'tty'>): string[] {
  const env = [...spec.env];
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  if (!has('PATH')) env.unshift(DEFAULT_PATH);
  if (!has('HOSTNAME')) env.push(`HOSTNAME=${spec.hostname}`);
  if (spec.tty && !has('TERM')) env.push('TERM=xterm');
  return env;
}

export function buildOciSpec(spec: RunSpec, rootfs: string, user: ResolvedUser): Record<string, unknown> {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (spec.netns !== 'host') namespaces.push({ type: 'network', path: spec.netns });
  const caps = [...DEFAULT_CAPS];
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev', 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  for (const [dest, src] of Object.entries(spec.files)) {
    mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', 'rw'] });
  }
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: spec.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids ? { additionalGids: user.additionalGids } : {}) },
      args: spec.args,
      env: containerEnv(spec),
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps },
      noNewPrivileges: false,
    },
    root: { path: rootfs, readonly: false },
    hostname: spec.hostname,
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      cgroupsPath: `/weft/${spec.id}`,
      namespaces,
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
    },
  };
}
