import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { BaseKernel, throwUnless } from './base.js';
import { codeOf, parseBatchFailures } from './batch.js';
import { inNetns, runChecked, spawnCollect } from './exec.js';
import { bridgeLine, ipLines, toolOf, type Tool } from './render.js';
import { excused, tolerances, type ApplyOptions, type FdbStep, type LinkInfo, type RouteInfo, type Step, type StepFailure } from './types.js';

// The command path (weftd --kernel-backend=commands): plans run as processes, as weft did before
// the agent. Consecutive steps for one tool and namespace make one `ip -batch -` (or
// `bridge -batch -`), through nsenter for another namespace; each nft step is one `nft -f -`;
// sysctls are files (or `sysctl -w` inside another namespace); namespaces are made with
// `unshare --net=PATH`. A batch holding a tolerant step runs with -force, so within that batch
// the lines after an unexcused failure still run (the agent stops at it); the plan stops after
// the batch either way. Costs: spawning ip ~3 ms, nft ~5 ms, more as weftd grows.

interface Group {
  tool: Tool;
  ns: string | undefined;
  steps: { index: number; step: Step }[];
}

interface IpLink {
  ifname: string;
  ifindex: number;
  master?: string;
  ifalias?: string;
  mtu: number;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

const nsOf = (s: Step): string | undefined => ('ns' in s ? s.ns || undefined : undefined);

export class CommandKernel extends BaseKernel {
  readonly backend = 'commands' as const;
  readonly nftWriter: string;
  /** The nft binary that writes (reads use plain `nft`): the daemon passes its `weft-nft` alias. */
  private readonly nftBinary: string;

  constructor(opts: { netns?: string; nft?: string } = {}) {
    super(opts.netns);
    this.nftBinary = opts.nft ?? 'nft';
    this.nftWriter = basename(this.nftBinary).slice(0, 15);
  }

  async apply(steps: Step[], opts: ApplyOptions = {}): Promise<StepFailure[]> {
    const failures: StepFailure[] = [];
    for (const g of groups(steps)) {
      for (const f of await this.runGroup(g, opts.force === true)) if (!excused(f.step, f.code)) failures.push(f);
      if (failures.length && !opts.force) break;
    }
    return throwUnless(failures, opts.force);
  }

  private runGroup(g: Group, force: boolean): Promise<StepFailure[]> {
    switch (g.tool) {
      case 'ip':
      case 'bridge':
        return this.batch(g, force);
      case 'nft':
        return this.nft(g.steps[0]!.index, g.steps[0]!.step);
      case 'sysctl':
        return this.sysctl(g);
      case 'netns':
        return this.netnsStep(g.steps[0]!.index, g.steps[0]!.step);
    }
  }

  private async batch(g: Group, force: boolean): Promise<StepFailure[]> {
    const lines: string[] = [];
    const owner: { index: number; step: Step }[] = [];
    for (const s of g.steps) {
      for (const line of g.tool === 'ip' ? ipLines(s.step) : [bridgeLine(s.step as FdbStep)]) {
        lines.push(line);
        owner.push(s);
      }
    }
    const tolerant = force || g.steps.some((s) => tolerances(s.step).length > 0);
    const [cmd, args] = inNetns(g.ns ?? this.netns, g.tool, [...(tolerant ? ['-force'] : []), '-batch', '-']);
    const r = await spawnCollect(cmd, args, lines.join('\n') + '\n');
    if (r.code === 0) return [];
    const parsed = parseBatchFailures(r.stderr, lines);
    if (parsed.length === 0) {
      const first = g.steps[0]!;
      return [{ index: first.index, step: first.step, code: codeOf(r.stderr), message: r.stderr.trim() || `${g.tool} failed` }];
    }
    return parsed.map((f) => {
      const o = owner[f.line - 1] ?? g.steps[0]!;
      return { index: o.index, step: o.step, code: codeOf(f.error), message: f.error };
    });
  }

  private async nft(index: number, step: Step): Promise<StepFailure[]> {
    if (step.op !== 'nft.apply' && step.op !== 'nft.check') return [];
    const [cmd, args] = inNetns(this.netns, step.op === 'nft.check' ? 'nft' : this.nftBinary, step.op === 'nft.check' ? ['-c', '-f', '-'] : ['-f', '-']);
    const r = await spawnCollect(cmd, args, step.script);
    if (r.code === 0) return [];
    return [{ index, step, code: codeOf(r.stderr), message: r.stderr.trim() || 'nft failed' }];
  }

  private async sysctl(g: Group): Promise<StepFailure[]> {
    const ns = g.ns ?? this.netns;
    const failures: StepFailure[] = [];
    for (const { index, step } of g.steps) {
      if (step.op !== 'sysctl') continue;
      let message = '';
      if (ns) {
        // /proc/sys/net shows the namespace of whoever opens it: write from inside.
        const [cmd, args] = inNetns(ns, 'sysctl', ['-q', '-w', `${step.key}=${step.value}`]);
        const r = await spawnCollect(cmd, args);
        if (r.code !== 0) message = r.stderr.trim() || 'sysctl failed';
      } else {
        await writeFile(`/proc/sys/${step.key.replace(/\./g, '/')}`, step.value).catch((err: Error) => (message = err.message));
      }
      if (message) failures.push({ index, step, code: codeOf(message), message: `sysctl ${step.key}=${step.value}: ${message}` });
    }
    return failures;
  }

  private async netnsStep(index: number, step: Step): Promise<StepFailure[]> {
    try {
      if (step.op === 'netns.create') await createNetns(step.path);
      else if (step.op === 'netns.delete') await deleteNetns(step.path);
      return [];
    } catch (err) {
      const message = (err as Error).message;
      return [{ index, step, code: (err as NodeJS.ErrnoException).code ?? codeOf(message), message }];
    }
  }

  private async ipJson<T>(ipArgs: string[], ns?: string): Promise<T> {
    const [cmd, args] = inNetns(ns ?? this.netns, 'ip', ['-json', ...ipArgs]);
    const out = (await runChecked(cmd, args)).trim();
    return (out ? JSON.parse(out) : []) as T;
  }

  async links(opts: { ns?: string } = {}): Promise<LinkInfo[]> {
    return (await this.ipJson<IpLink[]>(['-details', 'link', 'show'], opts.ns)).map(toLink);
  }

  async link(name: string, opts: { ns?: string } = {}): Promise<LinkInfo | null> {
    const [cmd, args] = inNetns(opts.ns ?? this.netns, 'ip', ['-json', '-details', 'link', 'show', 'dev', name]);
    const r = await spawnCollect(cmd, args);
    if (r.code !== 0) {
      if (codeOf(r.stderr) === 'ENODEV') return null;
      throw Object.assign(new Error(`ip link show dev ${name}: ${r.stderr.trim()}`), { code: codeOf(r.stderr) });
    }
    const list = JSON.parse(r.stdout.trim() || '[]') as IpLink[];
    return list[0] ? toLink(list[0]) : null;
  }

  async routes(family: 4 | 6, opts: { ns?: string } = {}): Promise<RouteInfo[]> {
    const list = await this.ipJson<{ dst: string; dev?: string; gateway?: string }[]>([`-${family}`, 'route', 'show'], opts.ns);
    const host = family === 6 ? 128 : 32;
    return list.map((r) => ({ dst: r.dst === 'default' || r.dst.includes('/') ? r.dst : `${r.dst}/${host}`, dev: r.dev, gateway: r.gateway }));
  }

  async nftList(nftArgs: string[]): Promise<Record<string, any>[]> {
    const [cmd, args] = inNetns(this.netns, 'nft', ['-j', ...nftArgs]);
    const out = (await runChecked(cmd, args)).trim();
    return out ? (JSON.parse(out).nftables ?? []) : [];
  }

  netnsExists(path: string): Promise<boolean> {
    return isMountPoint(path);
  }

  async close(): Promise<void> {}
}

/**
 * Consecutive ip/bridge/sysctl steps of one namespace share a batch; nft and netns steps go
 * alone, and so do neighbour steps: a failing `ip neigh` ends the whole batch without saying
 * which line failed.
 */
function groups(steps: Step[]): Group[] {
  const out: Group[] = [];
  const alone = (s: Step) => s.op.startsWith('neigh.');
  steps.forEach((step, index) => {
    const tool = toolOf(step);
    const ns = nsOf(step);
    const last = out.at(-1);
    const joins = last && last.tool === tool && last.ns === ns && (tool === 'ip' || tool === 'bridge' || tool === 'sysctl') && !alone(step) && !alone(last.steps[0]!.step);
    if (last && joins) last.steps.push({ index, step });
    else out.push({ tool, ns, steps: [{ index, step }] });
  });
  return out;
}

function toLink(l: IpLink): LinkInfo {
  return {
    name: l.ifname,
    index: l.ifindex,
    kind: l.linkinfo?.info_kind ?? '',
    master: l.master,
    alias: l.ifalias || undefined,
    mtu: l.mtu,
    mac: l.address ?? '',
    up: (l.flags ?? []).includes('UP'),
  };
}

/** `unshare --net=<path> ip link set lo up`, in one spawn; an existing namespace at path is kept. */
async function createNetns(path: string): Promise<void> {
  if (await isMountPoint(path)) return;
  await mkdir(dirname(path), { recursive: true });
  await (await open(path, 'a')).close();
  await runChecked('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
}

async function deleteNetns(path: string): Promise<void> {
  for (let i = 0; i < 8 && (await isMountPoint(path)); i++) await runChecked('umount', [path]);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** True when path is a mount point (a bound namespace) in our mount namespace. */
async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && unescapeMount(mp) === resolve(path)) return true;
  }
  return false;
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
