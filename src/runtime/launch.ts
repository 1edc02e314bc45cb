// Starts conmon for a container and waits for `runc create` to finish. conmon daemonizes at once;
// it reports the created container's pid (or an error) on the sync pipe (_OCI_SYNCPIPE, fd 3) as
// {"data": <pid>} or {"data": -1, "message": "..."}.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { RunSpec } from './types.js';
import type { Paths } from './state.js';
import { systemError } from '../common/errors.js';

export interface LaunchOptions {
  conmon: string;
  runc: string;
  paths: Paths;
  spec: RunSpec;
}

export function conmonArgs(o: LaunchOptions): string[] {
  const { paths, spec } = o;
  const bundle = paths.bundle(spec.id);
  const args = [
    '--api-version', '1',
    '-c', spec.id,
    '-u', spec.id,
    '-n', spec.name || spec.id,
    '-r', o.runc,
    '--runtime-arg', `--root=${paths.runcRoot}`,
    '-b', bundle,
    '-p', paths.pidfile(spec.id),
    '-P', paths.conmonPidfile(spec.id),
    '-l', `k8s-file:${paths.log(spec.id)}`,
    '--exit-dir', paths.exitDir,
    '--socket-dir-path', paths.execRoot,
    '--full-attach', // attach socket at <bundle>/attach
    '--log-level', 'error',
  ];
  if (spec.tty) args.push('-t');
  if (spec.openStdin) args.push('-i');
  // TTY sessions detach (ctrl-p ctrl-q) by closing the socket: that must not close the shell's stdin.
  // Non-TTY stdin is closed when the attached client closes it, as Docker does for StdinOnce.
  if (spec.openStdin && spec.tty) args.push('--leave-stdin-open');
  return args;
}

export async function launchConmon(o: LaunchOptions): Promise<number> {
  const child = spawn(o.conmon, conmonArgs(o), {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3' },
    cwd: o.paths.bundle(o.spec.id),
  });
  child.unref();
  const sync = child.stdio[3] as Readable;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const text = await new Promise<string>((resolve, reject) => {
    let buf = '';
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n') || /}\s*$/.test(buf)) resolve(buf);
    });
    sync.on('end', () => resolve(buf));
    sync.on('error', reject);
    child.on('error', reject);
  });
  sync.destroy();
  child.stderr!.destroy();
  let msg: { data?: number; message?: string };
  try {
    msg = JSON.parse(text.trim().split('\n')[0]) as { data?: number; message?: string };
  } catch {
    throw systemError(`conmon failed to create container ${o.spec.id}: ${stderr.trim() || text.trim() || 'no sync message'}`);
  }
  if (typeof msg.data !== 'number' || msg.data < 0) {
    throw systemError(`conmon failed to create container ${o.spec.id}: ${(msg.message ?? stderr).trim()}`);
  }
  return msg.data;
}
