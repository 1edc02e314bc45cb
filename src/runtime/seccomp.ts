import { endianness, release } from 'node:os';
import { invalid } from '../common/errors.js';
import DOCKER_DEFAULT from './seccomp-default.json' with { type: 'json' };

// Seccomp profiles in Docker's format, turned into the OCI spec's linux.seccomp as moby does
// (github.com/moby/profiles seccomp/seccomp_linux.go setupSeccomp): the archMap entry of this
// machine's architecture becomes `architectures`, and each syscall rule is kept or dropped by its
// includes/excludes conditions on the architecture, the container's bounding capabilities and the
// kernel version. seccomp-default.json is Docker's default profile, unchanged
// (moby/profiles seccomp/default.json at commit cd3bed8, Apache-2.0).

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}

export interface SeccompProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures: string[] | null }[] | null;
  syscalls?: ProfileSyscall[] | null;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export const DEFAULT_PROFILE = DOCKER_DEFAULT as SeccompProfile;

/** The machine as the profile's conditions see it: Go's architecture name and the kernel's major.minor. */
export interface SeccompHost {
  arch: string; // amd64, arm64, ...
  kernel: [number, number];
}

// Node's process.arch -> libseccomp's names as moby's goToNative gives them.
const NODE_TO_NATIVE: Record<string, string> = {
  x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsel',
  ppc: 'ppc', ppc64: endianness() === 'LE' ? 'ppc64le' : 'ppc64', riscv64: 'riscv64', s390: 's390', s390x: 's390x',
};
// moby's nativeToSeccomp.
const NATIVE_TO_SECCOMP: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64', loong64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64', mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

export function thisHost(): SeccompHost {
  return { arch: NODE_TO_NATIVE[process.arch] ?? process.arch, kernel: kernelVersion(release()) };
}

/** "6.1.0-18-amd64" -> [6, 1] (minor revisions and distribution suffixes ignored, as moby does). */
export function kernelVersion(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function atLeast(host: [number, number], min: string): boolean {
  const m = /^(\d+)\.(\d+)$/.exec(min);
  if (!m) throw invalid(`invalid kernel version: ${JSON.stringify(min)}, expected "<kernel>.<major>"`);
  const [k, j] = [Number(m[1]), Number(m[2])];
  return host[0] > k || (host[0] === k && host[1] >= j);
}

/** A profile in Docker's format for a container with these bounding capabilities; null = no filter. */
export function seccompFor(profile: SeccompProfile, caps: string[], host: SeccompHost = thisHost()): OciSeccomp | null {
  // No default action and no rules: seccomp is off (moby).
  if (!profile.defaultAction && !profile.syscalls?.length) return null;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const out: OciSeccomp = { defaultAction: profile.defaultAction ?? '' };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = profile.flags;
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  const architectures = [...(profile.architectures ?? [])];
  const native = NATIVE_TO_SECCOMP[host.arch];
  const own = native ? profile.archMap?.find((a) => a.architecture === native) : undefined;
  if (own) architectures.push(own.architecture, ...(own.subArchitectures ?? []));
  if (architectures.length) out.architectures = architectures;
  const syscalls: OciSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    if (call.name && call.names?.length) throw invalid("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    if (!applies(call, caps, host)) continue;
    const s: OciSyscall = { names: call.name ? [call.name] : (call.names ?? []), action: call.action };
    if (call.errnoRet !== undefined) s.errnoRet = call.errnoRet;
    if (call.args?.length) s.args = call.args;
    syscalls.push(s);
  }
  if (syscalls.length) out.syscalls = syscalls;
  return out;
}

function applies(call: ProfileSyscall, caps: string[], host: SeccompHost): boolean {
  const ex = call.excludes;
  if (ex) {
    if (ex.arches?.includes(host.arch)) return false;
    if (ex.caps?.some((c) => caps.includes(c))) return false;
    if (ex.minKernel && atLeast(host.kernel, ex.minKernel)) return false;
  }
  const inc = call.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(host.arch)) return false;
    if (inc.caps?.some((c) => !caps.includes(c))) return false;
    if (inc.minKernel && !atLeast(host.kernel, inc.minKernel)) return false;
  }
  return true;
}

/** A profile sent by a client (`--security-opt seccomp=<file>`: the CLI sends the file's JSON). */
export function parseProfile(text: string): SeccompProfile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw invalid(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid('Decoding seccomp profile failed: not a JSON object');
  const p = v as SeccompProfile;
  if (p.syscalls != null && !Array.isArray(p.syscalls)) throw invalid('Decoding seccomp profile failed: "syscalls" is not an array');
  return p;
}
