import type { ApplyOptions, Kernel, LinkInfo, RouteInfo, Step, StepFailure } from '../../src/kernel/types.js';
import { excused } from '../../src/kernel/types.js';
import { PlanError } from '../../src/kernel/base.js';

// A Kernel for unit tests of plan users (drivers): it records every plan and query instead of
// touching the kernel, and fails the steps `fail` names, with the tolerance and force semantics
// both real backends share (a tolerated failure is dropped; without force the first other one
// ends the plan and throws).

export interface Call {
  kind: 'plan' | 'query';
  steps: Step[];
  opts: ApplyOptions;
  what: string;
}

export interface FakeKernelOptions {
  links?: LinkInfo[];
  routes?: RouteInfo[];
  /** errno name for a step that should fail, or undefined. */
  fail?: (step: Step, index: number, plan: Step[]) => string | undefined;
}

export function fakeKernel(opts: FakeKernelOptions = {}): { kernel: Kernel; calls: Call[]; namespaces: Set<string> } {
  const calls: Call[] = [];
  /** Namespaces made and not deleted. */
  const namespaces = new Set<string>();
  const kernel: Kernel = {
    backend: 'agent',
    nftWriter: 'weft-kernel',
    netns: undefined,
    async apply(steps: Step[], o: ApplyOptions = {}): Promise<StepFailure[]> {
      if (!steps.length) return [];
      calls.push({ kind: 'plan', steps, opts: o, what: steps.map((s) => s.op).join(',') });
      await new Promise((r) => setTimeout(r, 1));
      const failures: StepFailure[] = [];
      for (const [index, step] of steps.entries()) {
        const code = opts.fail?.(step, index, steps);
        if (!code || excused(step, code)) continue;
        failures.push({ index, step, code, message: `${code} (fake)` });
        if (!o.force) throw new PlanError(failures);
      }
      return failures;
    },
    async links() {
      calls.push({ kind: 'query', steps: [], opts: {}, what: 'links' });
      return opts.links ?? [];
    },
    async link(name: string) {
      calls.push({ kind: 'query', steps: [], opts: {}, what: `link ${name}` });
      return (opts.links ?? []).find((l) => l.name === name) ?? null;
    },
    async routes() {
      calls.push({ kind: 'query', steps: [], opts: {}, what: 'routes' });
      return opts.routes ?? [];
    },
    async nftApply(script: string) {
      await kernel.apply([{ op: 'nft.apply', script }]);
    },
    async nftCheck() {},
    async nftList() {
      calls.push({ kind: 'query', steps: [], opts: {}, what: 'nft list' });
      return [];
    },
    async sysctls(entries: Record<string, string>) {
      await kernel.apply(Object.entries(entries).map(([key, value]) => ({ op: 'sysctl', key, value })));
    },
    async createNetns(path: string) {
      await kernel.apply([{ op: 'netns.create', path }]);
      namespaces.add(path);
    },
    async deleteNetns(path: string) {
      await kernel.apply([{ op: 'netns.delete', path }]);
      namespaces.delete(path);
    },
    async netnsExists(path: string) {
      return namespaces.has(path);
    },
    async close() {},
  };
  return { kernel, calls, namespaces };
}

/** Plans that change links, addresses, routes or nft elements (not the one-time sysctls). */
export const networkPlans = (calls: Call[]) => calls.filter((c) => c.kind === 'plan' && !c.steps.every((s) => s.op === 'sysctl'));

/** All nft script text of a plan. */
export const nftText = (c: Call) => c.steps.flatMap((s) => (s.op === 'nft.apply' ? [s.script] : [])).join('');
