import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Handler } from './serve.js';

// An IPAM driver with pools from 10.77.0.0/16 (a /24 each, or /<n> with --ipam-opt
// sample.prefix=<n>) or the pool asked for, and addresses from the lowest free one. Its state is
// kept in a file, so a restarted plugin still knows what it handed out (RequiresRequestReplay
// false: the engine does not replay its requests).

interface Pool {
  cidr: string;
  taken: string[];
}

const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

function parse(cidr: string): { base: number; prefix: number } {
  const [a, p] = cidr.split('/');
  const prefix = Number(p);
  if (!a || !/^\d+\.\d+\.\d+\.\d+$/.test(a) || !(prefix >= 8 && prefix <= 30)) throw new Error(`sample-ipam: invalid pool ${cidr}`);
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(toInt(a) / size) * size, prefix };
}

const overlaps = (x: string, y: string) => {
  const a = parse(x);
  const b = parse(y);
  const p = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - p);
  return Math.floor(a.base / size) === Math.floor(b.base / size);
};

export function ipamHandlers(stateFile: string): Record<string, Handler> {
  const pools = new Map<string, Pool>(existsSync(stateFile) ? Object.entries(JSON.parse(readFileSync(stateFile, 'utf8'))) : []);
  const save = () => {
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(Object.fromEntries(pools)));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  const poolOf = (id: string) => {
    const p = pools.get(id);
    if (!p) throw new Error(`sample-ipam: no pool ${id}`);
    return p;
  };
  return {
    'IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    'IpamDriver.GetDefaultAddressSpaces': () => ({ LocalDefaultAddressSpace: 'sample-local', GlobalDefaultAddressSpace: 'sample-global' }),
    'IpamDriver.RequestPool': (b) => {
      if (b.V6) throw new Error('sample-ipam: IPv6 is not supported');
      let cidr = String(b.Pool ?? '');
      if (cidr) {
        const { base, prefix } = parse(cidr);
        cidr = `${toIp(base)}/${prefix}`;
        if ([...pools.values()].some((p) => overlaps(p.cidr, cidr))) throw new Error(`sample-ipam: pool ${cidr} overlaps a pool in use`);
      } else {
        const prefix = Number(b.Options?.['sample.prefix'] ?? 24);
        if (!(prefix >= 16 && prefix <= 30)) throw new Error(`sample-ipam: sample.prefix must be 16 to 30, not ${b.Options?.['sample.prefix']}`);
        const size = 2 ** (32 - prefix);
        for (let base = toInt('10.77.0.0'); base < toInt('10.78.0.0'); base += size) {
          const c = `${toIp(base)}/${prefix}`;
          if (![...pools.values()].some((p) => overlaps(p.cidr, c))) {
            cidr = c;
            break;
          }
        }
        if (!cidr) throw new Error('sample-ipam: no free pool in 10.77.0.0/16');
      }
      const id = `sample/${cidr}`;
      pools.set(id, { cidr, taken: [] });
      save();
      return { PoolID: id, Pool: cidr, Data: {} };
    },
    'IpamDriver.ReleasePool': (b) => {
      pools.delete(String(b.PoolID));
      save();
      return {};
    },
    'IpamDriver.RequestAddress': (b) => {
      const pool = poolOf(String(b.PoolID));
      const { base, prefix } = parse(pool.cidr);
      const last = base + 2 ** (32 - prefix) - 1;
      let addr = String(b.Address ?? '');
      if (addr) {
        const n = toInt(addr);
        if (n <= base || n >= last) throw new Error(`sample-ipam: ${addr} is not in ${pool.cidr}`);
        if (pool.taken.includes(addr)) throw new Error(`sample-ipam: ${addr} is in use`);
      } else {
        for (let n = base + 1; n < last; n++) {
          if (!pool.taken.includes(toIp(n))) {
            addr = toIp(n);
            break;
          }
        }
        if (!addr) throw new Error(`sample-ipam: no free address in ${pool.cidr}`);
      }
      pool.taken.push(addr);
      save();
      return { Address: `${addr}/${prefix}`, Data: {} };
    },
    'IpamDriver.ReleaseAddress': (b) => {
      const pool = pools.get(String(b.PoolID));
      if (pool) pool.taken = pool.taken.filter((a) => a !== String(b.Address));
      save();
      return {};
    },
  };
}
