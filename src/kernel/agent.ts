import { systemError } from '../common/errors.js';
import { AgentProcess, type AgentLog } from './agent-process.js';
import { BaseKernel, throwUnless } from './base.js';
import type { ApplyOptions, LinkInfo, RouteInfo, Step, StepFailure } from './types.js';
import { FLAG_BACKGROUND, FLAG_FORCE, type Query, type WireResult } from './wire.js';

// The kernel agent backend: every plan is one request to weft-kernel (one round trip, however
// many steps and namespaces), answered per step with the kernel's errno and message. No process
// is started per operation. Queries answer JSON that is mapped to the typed results here.

interface AgentLink {
  name: string;
  index: number;
  kind: string;
  master: string | null;
  alias: string;
  mtu: number;
  mac: string;
  up: boolean;
}

interface AgentRoute {
  dst: string;
  dev: string | null;
  gateway: string | null;
}

export class AgentKernel extends BaseKernel {
  readonly backend = 'agent' as const;
  /** libnftables runs inside the agent: its batches are committed by weft-kernel itself. */
  readonly nftWriter = 'weft-kernel';
  readonly agent: AgentProcess;
  /** Microseconds the agent spent on the last request (its own time: the kernel work and decoding). */
  lastExecUs = 0;

  constructor(opts: { netns?: string; log?: AgentLog; binary?: string } = {}) {
    super(opts.netns);
    this.agent = new AgentProcess(opts);
  }

  async apply(steps: Step[], opts: ApplyOptions = {}): Promise<StepFailure[]> {
    if (steps.length === 0) return [];
    const res = await this.agent.request(steps, (opts.force ? FLAG_FORCE : 0) | (opts.background ? FLAG_BACKGROUND : 0), false);
    this.lastExecUs = res.execUs;
    const failures: StepFailure[] = [];
    for (const r of res.results) {
      if (!r.errno || r.tolerated) continue;
      if (r.index >= steps.length) throw systemError(`kernel agent: ${r.message}`);
      failures.push({ index: r.index, step: steps[r.index]!, code: r.code, message: r.message });
    }
    return throwUnless(failures, opts.force);
  }

  private async query(q: Query): Promise<WireResult> {
    const res = await this.agent.request([q], 0, true);
    this.lastExecUs = res.execUs;
    const r = res.results[0];
    if (!r) throw systemError(`kernel agent: no answer to ${q.op}`);
    if (r.errno) throw Object.assign(systemError(`${q.op}: ${r.message}`), { code: r.code });
    return r;
  }

  async links(opts: { ns?: string } = {}): Promise<LinkInfo[]> {
    const r = await this.query({ op: 'link.list', ns: opts.ns });
    return (JSON.parse(r.data) as AgentLink[]).map(toLink);
  }

  async link(name: string, opts: { ns?: string } = {}): Promise<LinkInfo | null> {
    try {
      return toLink(JSON.parse((await this.query({ op: 'link.get', name, ns: opts.ns })).data) as AgentLink);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENODEV') return null;
      throw err;
    }
  }

  async routes(family: 4 | 6, opts: { ns?: string } = {}): Promise<RouteInfo[]> {
    const r = await this.query({ op: 'route.list', family, ns: opts.ns });
    return (JSON.parse(r.data) as AgentRoute[]).map((x) => ({ dst: x.dst, dev: x.dev ?? undefined, gateway: x.gateway ?? undefined }));
  }

  async nftList(args: string[]): Promise<Record<string, any>[]> {
    const r = await this.query({ op: 'nft.list', script: args.join(' ') });
    return r.data.trim() ? (JSON.parse(r.data).nftables ?? []) : [];
  }

  async netnsExists(path: string): Promise<boolean> {
    return (await this.query({ op: 'netns.exists', path })).data === 'true';
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function toLink(l: AgentLink): LinkInfo {
  return { name: l.name, index: l.index, kind: l.kind, master: l.master ?? undefined, alias: l.alias || undefined, mtu: l.mtu, mac: l.mac, up: l.up };
}
