import { spawn } from 'node:child_process';
import { systemError } from '../common/errors.js';

// The one way the cluster layer runs a short-lived program (openssl): argv, optional stdin,
// stdout back; a non-zero exit becomes an error naming the program and its stderr.

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => reject(systemError(`${cmd}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(systemError(`${cmd} ${args[0]} failed (${code}): ${err.trim()}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
