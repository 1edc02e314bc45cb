import { readFileSync } from 'node:fs';
import { invalid } from '../common/errors.js';

// Linux capabilities as Docker gives them (moby oci/caps): the default set, --cap-add/--cap-drop
// and --privileged.

/** Every capability, in the kernel's order (bit n = CAP_n), as runc 1.1 knows them. */
export const ALL_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

/** Docker's default set (moby oci/caps/defaults.go): CapEff 00000000a80425fb for root. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

let grantable: string[] | null = null;

/**
 * "All capabilities" (--privileged, --cap-add ALL, exec --privileged): every one the kernel has
 * (cap_last_cap) that weftd itself holds in its bounding set. Docker asks for all the kernel has
 * and fails to start the container (runc: "unable to apply caps") where the daemon lacks one.
 */
export function allCaps(): string[] {
  grantable ??= grantableCaps(readOr('/proc/self/status'), readOr('/proc/sys/kernel/cap_last_cap'));
  return grantable;
}

/** The capabilities named by a status file's CapBnd, up to cap_last_cap. */
export function grantableCaps(status: string, lastCap: string): string[] {
  const last = /^\d+$/.test(lastCap.trim()) ? Number(lastCap.trim()) : ALL_CAPS.length - 1;
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const mask = bnd ? BigInt(`0x${bnd[1]}`) : (1n << BigInt(ALL_CAPS.length)) - 1n;
  return ALL_CAPS.filter((_, bit) => bit <= last && ((mask >> BigInt(bit)) & 1n) === 1n);
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** moby's NormalizeLegacyCapabilities: upper case, CAP_ prefix, "ALL" kept; unknown names are refused. */
export function normalizeCaps(field: 'CapAdd' | 'CapDrop', caps: string[]): string[] {
  return caps.map((raw) => {
    let c = raw.toUpperCase();
    if (c === 'ALL') return c;
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (!ALL_CAPS.includes(c)) throw invalid(`invalid ${field}: unknown capability: ${JSON.stringify(c)}`);
    return c;
  });
}

/** moby's TweakCapabilities: the container's capability set. */
export function containerCaps(adds: string[], drops: string[], privileged: boolean): string[] {
  if (privileged) return allCaps();
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPS];
  const add = normalizeCaps('CapAdd', adds);
  const drop = normalizeCaps('CapDrop', drops);
  if (add.includes('ALL')) return allCaps().filter((c) => !drop.includes(c));
  if (drop.includes('ALL')) return [...new Set(add)];
  return [...new Set([...DEFAULT_CAPS.filter((c) => !drop.includes(c)), ...add])];
}

/** The /proc/<pid>/status Cap* mask of a set, as 16 hex digits. */
export function capMask(caps: string[]): string {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(ALL_CAPS.indexOf(c));
  return m.toString(16).padStart(16, '0');
}
