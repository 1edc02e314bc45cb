// `docker exec` as a foreground `runc exec`. Without a TTY runc's stdout/stderr become Docker
// frames; with one, runc runs under weft-rtio's pty (runc -t insists on a terminal of its own and
// relays window-size changes of that terminal into the container's pty). Whether the output is
// framed is the start request's choice, not the pty's (Docker's ExecStartCheck.Tty).
import { spawn } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import type { ExecSession, ExecSpec } from './types.js';
import type { ResolvedUser } from './oci-spec.js';
import { frame } from './frames.js';
import { helperPath } from '../common/native.js';
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
  const emit = (stream: 1 | 2, d: Buffer) => {
    if (!output.writableEnded) output.write(spec.raw ? d : frame(stream, d));
  };
  const child = spec.tty
    ? spawn(helperPath('weft-rtio'), ['pty', 'runc', ...runcArgs], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
    : spawn('runc', runcArgs, { stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  // On a pty stdout and stderr are one stream (the helper's own stderr joins it). Raw output
  // without a pty has no place for stderr: Docker drops it, and so does weft.
  child.stdout!.on('data', (d: Buffer) => emit(1, d));
  child.stderr!.on('data', (d: Buffer) => (spec.tty ? emit(1, d) : spec.raw ? undefined : emit(2, d)));
  child.stdin?.on('error', () => undefined);
  child.on('error', (e) => output.destroy(e));
  const ctl = spec.tty ? (child.stdio[3] as Writable) : null;
  ctl?.on('error', () => undefined);
  const input = spec.stdin && child.stdin ? child.stdin : new Writable({ write: (_c, _e, cb) => cb() });
  const done = new Promise<number>((resolve) =>
    child.on('close', (code, sig) => {
      if (!output.writableEnded) output.end();
      resolve(code ?? (sig ? 128 : 1));
    }),
  );
  const resize = (h: number, w: number) => {
    if (ctl && !ctl.destroyed) ctl.write(`${h} ${w}\n`);
  };
  return { input, output, pid: child.pid ?? 0, resize, done };
}
