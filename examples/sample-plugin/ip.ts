import { execFileSync } from 'node:child_process';

/** Runs `ip ...`; a missing device on a delete is fine (the plugin may have done it before it crashed). */
export function ip(args: string[], opts: { tolerateGone?: boolean } = {}): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const text = String((err as { stderr?: Buffer }).stderr ?? err);
    if (opts.tolerateGone && /Cannot find device|does not exist|No such device/.test(text)) return;
    throw new Error(`ip ${args.join(' ')}: ${text.trim()}`);
  }
}
