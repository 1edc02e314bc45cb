// `docker exec` as a foreground `runc exec`. Without a TTY runc's stdout/stderr become Docker
// frames; with one, runc runs under weft-rtio's pty (runc -t insists on a terminal of its own and
// relays window-size changes of that terminal into the container's pty).
import { spawn } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import type { ExecSession, ExecSpec } from './types.js';
import type { ResolvedUser } from './oci-spec.js';
import { frame } from './frames.js';
import { helperPath } from './native.js';
import { allCaps } from './caps.js';

export function runcExecArgs(runcRoot: string, id: string, spec: ExecSpec, user: ResolvedUser): string[] {
  const args = ['--root', runcRoot, 'exec'];
  if (spec.tty) args.push('--tty');
  if (spec.cwd) args.push('--cwd', spec.cwd);
  for (const e of spec.env) args.push('--env', e);
  args.push('--user', `${user.uid}:${user.gid}`);
  if (spec.privileged) for (const c of allCaps()) args.push('--cap', c);
  args.push(id, ...spec.args);
  return args;
}

export function startExec(runcArgs: string[], spec: ExecSpec): ExecSession {
  const output = new PassThrough();
  if (spec.tty) {
    const child = spawn(helperPath('weft-rtio'), ['pty', 'runc', ...runcArgs], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const ctl = child.stdio[3] as Writable;
    ctl.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    child.stdout!.pipe(output);
    child.stderr!.on('data', (d: Buffer) => {
      if (!output.writableEnded) output.write(d);
    });
    child.on('error', (e) => output.destroy(e));
    const input = spec.stdin ? child.stdin! : new Writable({ write: (_c, _e, cb) => cb() });
    return {
      input,
      output,
      pid: child.pid ?? 0,
      resize: (h, w) => {
        if (!ctl.destroyed) ctl.write(`${h} ${w}\n`);
      },
      done: new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1)))),
    };
  }
  const child = spawn('runc', runcArgs, { stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => output.write(frame(1, d)));
  child.stderr!.on('data', (d: Buffer) => output.write(frame(2, d)));
  child.stdin?.on('error', () => undefined);
  child.on('error', (e) => output.destroy(e));
  const input = child.stdin ?? new Writable({ write: (_c, _e, cb) => cb() });
  const done = new Promise<number>((resolve) =>
    child.on('close', (code, sig) => {
      output.end();
      resolve(code ?? (sig ? 128 : 1));
    }),
  );
  return { input, output, pid: child.pid ?? 0, resize: () => undefined, done };
}
