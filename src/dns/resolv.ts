import { readFileSync } from 'node:fs';

// The host's resolver configuration, as containers without the embedded DNS get it.

export interface ResolvInput {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** The host's resolv.conf, minus loopback nameservers (unreachable from a container), like Docker. */
export function hostResolvers(path = '/etc/resolv.conf'): ResolvInput {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* no resolv.conf: defaults below */
  }
  const out: ResolvInput = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0] && !isLoopback(rest[0])) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  if (out.nameservers.length === 0) out.nameservers = ['8.8.8.8', '8.8.4.4']; // Docker's fallback
  return out;
}

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1';
}

