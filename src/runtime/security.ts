import { invalid } from '../common/errors.js';
import { containerCaps, DEFAULT_CAPS } from './caps.js';
import { DEFAULT_PROFILE, parseProfile, seccompFor } from './seccomp.js';

// A container's security settings from its HostConfig (Privileged, CapAdd, CapDrop, SecurityOpt),
// checked at create with Docker's messages (daemon/daemon_unix.go parseSecurityOpt,
// oci/caps TweakCapabilities) and stored with the container's run spec.

export interface ContainerSecurity {
  privileged: boolean;
  /** Bounding, permitted and effective capabilities. */
  caps: string[];
  /** 'default' (Docker's profile), 'unconfined' (no filter), or a profile's JSON text. */
  seccomp: string;
  noNewPrivileges: boolean;
}

/** What a container created without any of those settings gets (also: run specs saved before they existed). */
export const DEFAULT_SECURITY: Readonly<ContainerSecurity> = { privileged: false, caps: DEFAULT_CAPS, seccomp: 'default', noNewPrivileges: false };

export interface SecurityHostConfig {
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  SecurityOpt?: string[] | null;
}

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

export function containerSecurity(hc: SecurityHostConfig): ContainerSecurity {
  const privileged = Boolean(hc.Privileged);
  const caps = containerCaps(hc.CapAdd ?? [], hc.CapDrop ?? [], privileged);
  let seccomp = 'default';
  let noNewPrivileges = false;
  for (const opt of hc.SecurityOpt ?? []) {
    if (opt === 'no-new-privileges') {
      noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // SELinux labels: weft has none to disable
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalid(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const [key, value] = [opt.slice(0, at), opt.slice(at + 1)];
    switch (key) {
      case 'label': // SELinux and AppArmor are not enabled on weft's hosts: dockerd ignores them there too
      case 'apparmor':
        break;
      case 'seccomp':
        seccomp = value === 'builtin' ? 'default' : value;
        break;
      case 'no-new-privileges':
        if (GO_TRUE.includes(value)) noNewPrivileges = true;
        else if (GO_FALSE.includes(value)) noNewPrivileges = false;
        else throw invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        break;
      default:
        throw invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  // A custom profile is decoded now, so that a bad one fails the create (dockerd fails the start).
  if (seccomp !== 'default' && seccomp !== 'unconfined') seccompFor(parseProfile(seccomp), caps);
  return { privileged, caps, seccomp, noNewPrivileges };
}

/** The OCI linux.seccomp of a container (none when privileged or unconfined, as in Docker). */
export function seccompOf(sec: ContainerSecurity): ReturnType<typeof seccompFor> {
  if (sec.privileged || sec.seccomp === 'unconfined') return null;
  return seccompFor(sec.seccomp === 'default' ? DEFAULT_PROFILE : parseProfile(sec.seccomp), sec.caps);
}
