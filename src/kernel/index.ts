import { AgentKernel } from './agent.js';
import type { AgentLog } from './agent-process.js';
import { CommandKernel } from './commands.js';
import type { Kernel, KernelBackend } from './types.js';

export type * from './types.js';
export { isExists, isGone, excused } from './types.js';
export { PlanError, throwUnexpected } from './base.js';
export { AgentKernel } from './agent.js';
export { CommandKernel } from './commands.js';
export { TABLE, baseTableScript, networkElements, portElements, fullTableScript, type NftNetwork, type NftPort } from './nft.js';

export const KERNEL_BACKENDS: KernelBackend[] = ['agent', 'commands'];

/** The kernel weftd (or a test) works through: the agent by default, the command path on request. */
export function createKernel(opts: { backend?: KernelBackend; netns?: string; log?: AgentLog; nft?: string } = {}): Kernel {
  return (opts.backend ?? 'agent') === 'commands' ? new CommandKernel({ netns: opts.netns, nft: opts.nft }) : new AgentKernel({ netns: opts.netns, log: opts.log });
}
