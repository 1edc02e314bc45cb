import { spawn } from 'node:child_process';
import { systemError } from '../common/errors.js';

// How the command path (commands.ts) starts ip, nft and friends: never through a shell, `input`
// fed on stdin, a failure turned into WeftError('System') carrying the command line and stderr.

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs cmd with args; resolves with its output whatever the exit code (callers decide). */
export function spawnCollect(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(systemError(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? (signal ? 128 : 1),
      });
    });
    // A child that exits before reading stdin makes the write fail with EPIPE: harmless.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Runs and throws WeftError('System') on a non-zero exit. */
export async function runChecked(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await spawnCollect(cmd, args, input);
  if (r.code !== 0) throw commandError(cmd, args, r.stderr || r.stdout, input);
  return r.stdout;
}

export function commandError(cmd: string, args: string[], stderr: string, input?: string) {
  const shown = [cmd, ...args].join(' ');
  const script = input && input.length < 2000 ? ` <<< ${JSON.stringify(input)}` : '';
  return systemError(`${shown}${script}: ${stderr.trim() || 'failed'}`);
}

/** Wraps a command so it runs inside the network namespace bound at nsPath (if any). */
export function inNetns(nsPath: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return nsPath ? ['nsenter', [`--net=${nsPath}`, cmd, ...args]] : [cmd, args];
}
