import { systemError, WeftError } from '../common/errors.js';
import { describe } from './render.js';
import type { ApplyOptions, Kernel, KernelBackend, LinkInfo, RouteInfo, Step, StepFailure } from './types.js';

// What both backends share: the convenience methods are plans of one kind of step, and a plan
// that fails without `force` throws a PlanError naming each refused step and the kernel's words.

/** A plan the kernel refused: WeftError('System') that keeps the failures for callers that look closer. */
export class PlanError extends WeftError {
  constructor(readonly failures: StepFailure[]) {
    super('System', failures.map((f) => `"${describe(f.step)}": ${f.message}`).join('; '));
  }
}

export abstract class BaseKernel implements Kernel {
  abstract readonly backend: KernelBackend;
  abstract readonly nftWriter: string;

  constructor(readonly netns: string | undefined) {}

  abstract apply(steps: Step[], opts?: ApplyOptions): Promise<StepFailure[]>;
  abstract links(opts?: { ns?: string }): Promise<LinkInfo[]>;
  abstract link(name: string, opts?: { ns?: string }): Promise<LinkInfo | null>;
  abstract routes(family: 4 | 6, opts?: { ns?: string }): Promise<RouteInfo[]>;
  abstract nftList(args: string[]): Promise<Record<string, any>[]>;
  abstract netnsExists(path: string): Promise<boolean>;
  abstract close(): Promise<void>;

  async nftApply(script: string): Promise<void> {
    await this.apply([{ op: 'nft.apply', script }]);
  }

  async nftCheck(script: string): Promise<void> {
    await this.apply([{ op: 'nft.check', script }]);
  }

  async sysctls(entries: Record<string, string>, opts: { optional?: boolean; ns?: string } = {}): Promise<void> {
    const steps: Step[] = Object.entries(entries).map(([key, value]) => ({ op: 'sysctl', key, value, ns: opts.ns, tolerate: opts.optional ? 'gone' : undefined }));
    if (steps.length) await this.apply(steps);
  }

  async createNetns(path: string): Promise<void> {
    await this.apply([{ op: 'netns.create', path }]);
  }

  async deleteNetns(path: string): Promise<void> {
    await this.apply([{ op: 'netns.delete', path }]);
  }
}

/** Failures of a plan's results that its steps' tolerance does not excuse. */
export function throwUnless(failures: StepFailure[], force: boolean | undefined): StepFailure[] {
  if (failures.length && !force) throw new PlanError(failures);
  return failures;
}

/** Throws one error listing every failure that `expected` does not excuse. */
export function throwUnexpected(what: string, failures: StepFailure[], expected: (f: StepFailure) => boolean = () => false): void {
  const bad = failures.filter((f) => !expected(f));
  if (bad.length) throw systemError(`${what}: ${bad.map((f) => `"${describe(f.step)}": ${f.message}`).join('; ')}`);
}
