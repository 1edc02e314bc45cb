import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';
import { BridgeDriver } from '../src/drivers/bridge/index.js';
import { createKernel, type KernelBackend } from '../src/kernel/index.js';
import { portElements } from '../src/kernel/nft.js';
import type { NetworkRecord } from '../src/common/model.js';
import { createTestNetns } from '../test/helpers/netns.js';
import { REPO_ROOT, startDaemon } from '../test/helpers/daemons.js';
import { networkRecord } from '../test/helpers/records.js';

// Does creating a network (and publishing a port) cost the same with 1,000 of them as with 10?
// weft keeps per-network facts as nft set elements and published ports as map elements, so the
// rule set is fixed; this measures it.
//   1. driver: BridgeDriver.createNetwork (1 ip batch + 1 nft batch) in a throwaway namespace,
//      plus the nft half alone, and adding one published port (1 nft batch) as mappings grow;
//   2. end to end: POST /networks/create to a weftd in its own namespace.
// Reported: median and p90 over the 10 creates that bring the count to 10, 100 and 1,000.
// Run: node dist/bench/nft-scale.js [--max 1000] [--backend agent|commands]; writes bench/results/nft-scale.md.
// The nft rows go through the kernel agent (libnftables) unless --backend commands (`nft -f`).

const args = process.argv.slice(2);
const max = Number(args[args.indexOf('--max') + 1] || 1000) || 1000;
const backend = (args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'agent') as KernelBackend;
const checkpoints = [10, 100, 1000].filter((n) => n <= max);
const WINDOW = 10;

const subnet = (i: number) => `10.${64 + (i >> 8)}.${i & 255}.0/24`;
const gateway = (i: number) => `10.${64 + (i >> 8)}.${i & 255}.1`;

function record(i: number): NetworkRecord {
  const ipam = { driver: 'default', options: {}, config: [{ Subnet: subnet(i), Gateway: gateway(i) }] };
  return networkRecord({ id: randomBytes(32).toString('hex'), name: `scale${i}`, ipam });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] };
};
const ms = (n: number) => n.toFixed(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Times fn(i) for i = 1..max; returns the per-checkpoint window stats. */
async function series(label: string, fn: (i: number) => Promise<void>): Promise<Map<number, { median: number; p90: number }>> {
  const times: number[] = [];
  for (let i = 1; i <= max; i++) {
    const t = now();
    await fn(i);
    times.push(now() - t);
    if (i % 100 === 0) process.stderr.write(`${label}: ${i}/${max}\r`);
  }
  process.stderr.write('\n');
  const out = new Map<number, { median: number; p90: number }>();
  for (const n of checkpoints) out.set(n, stats(times.slice(n - WINDOW, n)));
  return out;
}

// 1. Driver level ---------------------------------------------------------------------------
const ns = createTestNetns('wb');
let driverCreate, nftOnly, portAdd;
const kernel = createKernel({ backend, netns: ns.path });
try {
  const driver = new BridgeDriver({ kernel });
  await driver.init(); // the table the element series below write into (a daemon makes it at start)
  const existing: NetworkRecord[] = [];
  driverCreate = await series('driver create', async (i) => {
    const net = record(i);
    net.driverState = await driver.prepareNetwork(net, existing);
    await driver.createNetwork(net);
    existing.push(net);
  });
  // The nft half alone: one network's elements (add, then remove in the same way delete does).
  nftOnly = await series('nft elements', async (i) => {
    const br = `bx${i}`;
    await kernel.nftApply(`add element inet weft bridges { "${br}" }\nadd element inet weft icc { "${br}" . "${br}" }\nadd element inet weft masq4 { ${subnet(2000 + i).replace(/^10\.\d+/, '10.200')} }\n`);
  });
  // Published ports: one mapping per step, as join does (1 nft batch).
  portAdd = await series('port add', async (i) => {
    const script = portElements([{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 20000 + i, containerIp: `10.${64 + (i >> 8)}.${i & 255}.2`, containerPort: 80 }], 'add');
    await kernel.nftApply(script.join('\n') + '\n');
  });
} finally {
  await kernel.close();
  ns.destroy();
}

// 2. End to end through the API ---------------------------------------------------------------
const d = await startDaemon('weft', { extraArgs: ['--kernel-backend', backend] });
let apiCreate;
try {
  apiCreate = await series('API create', async (i) => {
    const r = await d.api('POST', '/networks/create', { Name: `scale${i}`, IPAM: { Config: [{ Subnet: subnet(i) }] } });
    if (r.status !== 201) throw new Error(`network create scale${i}: ${r.status} ${r.text}`);
  });
  // No removal through the API (1,000 serial removes take longer than the bench): stop()
  // deletes the daemon's namespace, and the bridges with it.
} finally {
  await d.stop();
}

const rows = [
  ['driver createNetwork (lazy: kernel objects come with the first join)', driverCreate],
  [`nft elements of one network (${backend === 'agent' ? 'one agent request, libnftables' : '1 `nft -f`'})`, nftOnly],
  [`publish one port (${backend === 'agent' ? 'one agent request' : '1 `nft -f`'}, map element)`, portAdd],
  ['POST /networks/create (end to end)', apiCreate],
] as const;
const header = `| operation | ${checkpoints.map((n) => `at ${n} (median / p90 ms)`).join(' | ')} |`;
const lines = [
  '# nft scale: network create and port publish cost vs. count',
  '',
  `Generated by \`node dist/bench/nft-scale.js --max ${max} --backend ${backend}\` on ${new Date().toISOString()} (Linux ${release()}, node ${process.version}).`,
  `Each cell: the ${WINDOW} operations that bring the count to N (N-${WINDOW - 1}..N). Flat rows = O(1) per network / mapping:`,
  'per-network facts are set elements and published ports are map elements; the rule set never grows.',
  '',
  header,
  `|---|${checkpoints.map(() => '---').join('|')}|`,
  ...rows.map(([name, m]) => `| ${name} | ${checkpoints.map((n) => `${ms(m!.get(n)!.median)} / ${ms(m!.get(n)!.p90)}`).join(' | ')} |`),
  '',
];
const md = lines.join('\n');
console.log(md);
mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(REPO_ROOT, 'bench/results/nft-scale.md'), md);
