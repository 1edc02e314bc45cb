import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../test/helpers/daemons.js';
import { createTestNetns } from '../test/helpers/netns.js';
import { endpointRecord, networkRecord, testId } from '../test/helpers/records.js';
import { bridgeUpSteps, joinHostSteps, leaveSteps, vethDeleteSteps } from '../src/drivers/bridge/commands.js';
import { sandboxSteps } from '../src/drivers/plumbing.js';
import { parseBridgeOptions } from '../src/drivers/bridge/options.js';
import { AgentKernel } from '../src/kernel/agent.js';
import { CommandKernel } from '../src/kernel/commands.js';
import type { Step } from '../src/kernel/types.js';
import { decodeResponse, encodeRequest, FLAG_BACKGROUND, FLAG_FORCE, type WireResponse } from '../src/kernel/wire.js';
import { fmtMs, median } from './lib.js';

// The floor of a connect + disconnect: the bridge driver's own plans for it (join of a realized
// network: veth with its peer in the sandbox, enslave, address, up, default route; leave: detach
// both ends; then the veth deletion in the background) replayed in a tight loop against one
// sandbox, through each way of reaching the kernel:
//   helper       the weft-kernel process (what weftd uses): one round trip per plan
//   addon sync   the same C core as a Node addon, called on the main thread (blocks the loop)
//   addon async  the addon on libuv's thread pool (what a real addon would have to do)
//   commands     ip -batch processes (the fallback path)
// "kernel" is the agent's own time per plan (it reports it with every answer): the netlink work
// itself, the physical limit on this machine. Runs inside a throwaway namespace (nsenter).
//   node dist/bench/kernel-floor.js [--n 200]

export interface FloorRow {
  transport: string;
  n: number;
  /** Medians, ms. */
  join: number;
  leave: number;
  total: number;
}

export interface FloorResult {
  rows: FloorRow[];
  /** Median ms the agent itself spent on join + leave (its execUs). */
  kernelMs: number;
  error?: string;
}

const net = networkRecord({ id: testId(1, 'a'), name: 'floor', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.93.0.0/16', Gateway: '10.93.0.1' }] } });
const cfg = parseBridgeOptions(net, []);

function plans(i: number, sandbox: string): { join: Step[]; leave: Step[]; del: Step[] } {
  const ep = endpointRecord(i, net, `10.93.${1 + (i >> 8)}.${i & 255}`, { ifname: 'eth1' });
  return {
    join: [...joinHostSteps(cfg, ep, sandbox), ...sandboxSteps(ep, false, sandbox)],
    leave: leaveSteps(ep, sandbox),
    del: vethDeleteSteps(ep.hostIfname),
  };
}

interface Transport {
  name: string;
  /** Runs a plan; resolves with the agent's exec time (µs) when it reports one. */
  run(steps: Step[], flags: number): Promise<number>;
}

function checked(res: WireResponse, steps: Step[]): number {
  const bad = res.results.find((r) => r.errno && !r.tolerated);
  if (bad) throw new Error(`${steps[bad.index]?.op}: ${bad.message}`);
  return res.execUs;
}

function addon(): { run(b: Buffer, lane: number): Buffer; runAsync(b: Buffer, lane: number, cb: (r: Buffer) => void): void } {
  const out = join(REPO_ROOT, 'dist/native/weft-kernel-addon.node');
  const src = join(REPO_ROOT, 'bench/kernel-addon/addon.c');
  const core = readdirSync(join(REPO_ROOT, 'src/kernel/agent')).filter((f) => f.endsWith('.c') && f !== 'main.c').map((f) => join(REPO_ROOT, 'src/kernel/agent', f));
  if (!existsSync(out) || [src, ...core].some((f) => statSync(f).mtimeMs > statSync(out).mtimeMs)) {
    execFileSync('gcc', ['-O2', '-Wall', '-shared', '-fPIC', '-I/usr/include/node', '-o', out, src, ...core, '-lmnl', '-lnftables', '-lpthread'], { stdio: 'pipe' });
  }
  return createRequire(import.meta.url)(out);
}

async function series(t: Transport, n: number, first: number, sandbox: string, agentTimes?: number[]): Promise<FloorRow> {
  const joins: number[] = [];
  const leaves: number[] = [];
  const deletions: Promise<unknown>[] = [];
  for (let i = -5; i < n; i++) {
    const p = plans(first + i + 5, sandbox);
    const t0 = performance.now();
    const us1 = await t.run(p.join, 0);
    const t1 = performance.now();
    const us2 = await t.run(p.leave, FLAG_FORCE);
    const t2 = performance.now();
    deletions.push(t.run(p.del, FLAG_BACKGROUND));
    if (i < 0) continue; // warm-up
    joins.push(t1 - t0);
    leaves.push(t2 - t1);
    agentTimes?.push((us1 + us2) / 1000);
  }
  await Promise.all(deletions);
  return { transport: t.name, n, join: median(joins), leave: median(leaves), total: median(joins.map((j, i) => j + leaves[i]!)) };
}

/** Inside the throwaway namespace: set up a bridge and a sandbox, then time each transport. */
async function inner(n: number): Promise<FloorResult> {
  const agent = new AgentKernel();
  const dir = `/run/wf-${process.pid}`;
  const sandbox = `${dir}/sb`;
  try {
    await agent.apply(bridgeUpSteps(net, cfg));
    await agent.createNetns(sandbox);
    const kernel: number[] = [];
    const rows: FloorRow[] = [];
    const helper: Transport = {
      name: 'helper (weft-kernel process)',
      async run(steps, flags) {
        await agent.apply(steps, { force: (flags & FLAG_FORCE) !== 0, background: (flags & FLAG_BACKGROUND) !== 0 });
        return agent.lastExecUs;
      },
    };
    const a = addon();
    let id = 1;
    const body = (steps: Step[], flags: number) => encodeRequest(id++, steps, flags).subarray(4);
    const async = (steps: Step[], flags: number) =>
      new Promise<number>((resolve, reject) => {
        a.runAsync(body(steps, flags), flags & FLAG_BACKGROUND ? 1 : 0, (r) => {
          try {
            resolve(checked(decodeResponse(r), steps));
          } catch (err) {
            reject(err);
          }
        });
      });
    rows.push(
      await series({ name: 'addon, sync (main thread)', run: async (steps, flags) => (flags & FLAG_BACKGROUND ? async(steps, flags) : checked(decodeResponse(a.run(body(steps, flags), 0)), steps)) }, n, 3000, sandbox),
    );
    rows.push(await series(helper, n, 1000, sandbox, kernel));
    rows.push(await series({ name: 'addon, async (thread pool)', run: async }, n, 5000, sandbox));
    const commands = new CommandKernel();
    rows.push(
      await series(
        { name: 'commands (ip -batch processes)', run: async (steps, flags) => (await commands.apply(steps, { force: (flags & FLAG_FORCE) !== 0 }), 0) },
        Math.min(n, 30),
        7000,
        sandbox,
      ),
    );
    return { rows, kernelMs: median(kernel) };
  } finally {
    await agent.deleteNetns(sandbox).catch(() => undefined);
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the floor bench in a fresh namespace (a child process entered with nsenter). */
export async function kernelFloor(n: number): Promise<FloorResult> {
  const ns = createTestNetns('wf');
  try {
    const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, fileURLToPath(import.meta.url), '--inner', String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    if (code !== 0) return { rows: [], kernelMs: NaN, error: `floor bench exited ${code}` };
    return JSON.parse(out) as FloorResult;
  } finally {
    ns.destroy();
  }
}

export function renderFloor(f: FloorResult): string {
  if (f.error) return `Not measured: ${f.error}\n`;
  const lines = ['| transport | n | join median ms | leave median ms | join + leave median ms |', '| --- | --- | --- | --- | --- |'];
  for (const r of f.rows) lines.push(`| ${r.transport} | ${r.n} | ${fmtMs(r.join)} | ${fmtMs(r.leave)} | ${fmtMs(r.total)} |`);
  lines.push(`| kernel: the agent's own time for both plans | ${f.rows[0]?.n ?? 0} | | | ${fmtMs(f.kernelMs)} |`);
  return lines.join('\n') + '\n';
}

const self = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (self && process.argv.includes('--inner')) {
  const n = Number(process.argv[process.argv.indexOf('--inner') + 1]) || 200;
  process.stdout.write(JSON.stringify(await inner(n)));
} else if (self) {
  const n = Number(process.argv[process.argv.indexOf('--n') + 1]) || 200;
  console.log(renderFloor(await kernelFloor(n)));
}
