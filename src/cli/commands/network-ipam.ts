// Pairs --subnet with --gateway/--ip-range/--aux-address the way the docker CLI does.
import { CliError } from '../cli-util.js';

interface IpamConfig {
  Subnet: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

function v4ToInt(ip: string): number | null {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return null;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Whether an address (or a CIDR's base address) lies in a subnet. IPv6 compares by prefix text. */
export function subnetContains(subnet: string, addr: string): boolean {
  const [net, bitsText] = subnet.split('/');
  const ip = addr.split('/')[0];
  const bits = Number(bitsText);
  const a = v4ToInt(net);
  const b = v4ToInt(ip);
  if (a !== null && b !== null) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((a & mask) >>> 0) === ((b & mask) >>> 0);
  }
  if (net.includes(':') && ip.includes(':')) {
    const expand = (s: string) => {
      const [head, tail = ''] = s.split('::');
      const h = head ? head.split(':') : [];
      const t = tail ? tail.split(':') : [];
      const all = s.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
      return all.map((x) => parseInt(x || '0', 16).toString(2).padStart(16, '0')).join('');
    };
    return expand(net).slice(0, bits) === expand(ip).slice(0, bits);
  }
  return false;
}

export function buildIpamConfig(subnets: string[], ranges: string[], gateways: string[], aux: string[]): IpamConfig[] {
  if (subnets.length === 0 && (ranges.length || gateways.length || aux.length)) {
    throw new CliError('invalid argument: gateway, ip-range and aux-address require a subnet (--subnet)', 1);
  }
  const cfgs: IpamConfig[] = subnets.map((s) => ({ Subnet: s }));
  const place = (value: string, what: string, set: (c: IpamConfig) => void, conflict: (c: IpamConfig) => boolean) => {
    const matches = cfgs.filter((c) => subnetContains(c.Subnet, value));
    if (matches.length === 0) throw new CliError(`no matching subnet for ${what} ${value}`, 1);
    if (matches.length > 1) throw new CliError(`multiple overlapping subnet configuration is not supported`, 1);
    if (conflict(matches[0])) throw new CliError(`cannot configure multiple ${what}s for the same subnet`, 1);
    set(matches[0]);
  };
  for (const r of ranges) place(r, 'range', (c) => (c.IPRange = r), (c) => c.IPRange !== undefined);
  for (const g of gateways) place(g, 'gateway', (c) => (c.Gateway = g), (c) => c.Gateway !== undefined);
  for (const a of aux) {
    const i = a.indexOf('=');
    if (i <= 0) throw new CliError(`invalid argument "${a}" for "--aux-address" flag: bad format`, 125);
    const [name, ip] = [a.slice(0, i), a.slice(i + 1)];
    place(ip, 'aux-address', (c) => ((c.AuxiliaryAddresses ??= {})[name] = ip), () => false);
  }
  return cfgs;
}
