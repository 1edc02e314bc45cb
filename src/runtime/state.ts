// Where a container's files live, and its status derived from those files alone (so a restarted
// daemon sees the same thing). Exec-root (tmpfs) holds what dies with the container's processes;
// data-root holds what must outlive them (spec, writable layer, logs, last exit).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { ContainerStatus, RunSpec } from './types.js';
import { notFound } from '../common/errors.js';

export class Paths {
  constructor(
    readonly execRoot: string,
    readonly dataRoot: string,
  ) {}
  get runcRoot(): string {
    return join(this.execRoot, 'runc');
  }
  get exitDir(): string {
    return join(this.execRoot, 'exits');
  }
  /** runc's fifo that `runc start` opens: it exists while a container is created but not started. */
  execFifo(id: string): string {
    return join(this.runcRoot, id, 'exec.fifo');
  }
  bundle(id: string): string {
    return join(this.execRoot, 'containers', id);
  }
  rootfs(id: string): string {
    return join(this.bundle(id), 'rootfs');
  }
  pidfile(id: string): string {
    return join(this.bundle(id), 'pidfile');
  }
  conmonPidfile(id: string): string {
    return join(this.bundle(id), 'conmon.pid');
  }
  exitFile(id: string): string {
    return join(this.exitDir, id);
  }
  layer(id: string): string {
    return join(this.dataRoot, 'containers', id);
  }
  specFile(id: string): string {
    return join(this.layer(id), 'spec.json');
  }
  log(id: string): string {
    return join(this.layer(id), 'ctr.log');
  }
  /** Written just before `runc start`; its mtime is StartedAt. */
  startedFile(id: string): string {
    return join(this.layer(id), 'started');
  }
  /** Written when the exit was reported ({code}); its mtime is FinishedAt. Marks "exit emitted" for this run. */
  reportedFile(id: string): string {
    return join(this.layer(id), 'exited.json');
  }
}

export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

export function mtime(path: string): string | null {
  try {
    return rfc3339Nano(statSync(path, { bigint: true }).mtimeNs);
  } catch {
    return null;
  }
}

export function readInt(path: string): number | null {
  try {
    const t = readFileSync(path, 'utf8').trim();
    return /^-?\d+$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

/** True if pid exists and is not a zombie. */
export function alive(pid: number | null): boolean {
  if (!pid || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True if pid is alive and its command line mentions all of `words` (guards against pid reuse). */
export function aliveAs(pid: number | null, ...words: string[]): boolean {
  if (!alive(pid)) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return words.every((w) => cmd.includes(w));
  } catch {
    return false;
  }
}

export function loadSpec(paths: Paths, id: string): RunSpec {
  try {
    return JSON.parse(readFileSync(paths.specFile(id), 'utf8')) as RunSpec;
  } catch {
    throw notFound(`No such container: ${id}`);
  }
}

/** A spec that exists and is not empty (an empty one is what a create killed mid-write left, before specs were written atomically). */
function hasSpec(paths: Paths, id: string): boolean {
  try {
    return statSync(paths.specFile(id)).size > 0;
  } catch {
    return false;
  }
}

export function readStatus(paths: Paths, id: string): ContainerStatus {
  if (!hasSpec(paths, id)) throw notFound(`No such container: ${id}`);
  const startedAt = mtime(paths.startedFile(id));
  const base: ContainerStatus = { running: false, pid: 0, exitCode: null, startedAt, finishedAt: null };
  if (!startedAt) return base;
  const exitCode = readInt(paths.exitFile(id));
  if (exitCode !== null) return { ...base, exitCode, finishedAt: mtime(paths.exitFile(id)) };
  const pid = readInt(paths.pidfile(id));
  // A created container's pid is runc init, alive but waiting for `runc start`: that is no run.
  if (alive(pid) && !existsSync(paths.execFifo(id))) return { ...base, running: true, pid: pid! };
  // Exit file gone (reboot cleared exec-root) or conmon died: fall back to what was reported.
  try {
    const rep = JSON.parse(readFileSync(paths.reportedFile(id), 'utf8')) as { code: number };
    return { ...base, exitCode: rep.code, finishedAt: mtime(paths.reportedFile(id)) };
  } catch {
    return { ...base, exitCode: pid ? 255 : null, finishedAt: null };
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot (null: no such process). */
export function startTimeOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** "KILL", "SIGTERM", "9" -> the signal number; null for what node does not know (real-time signals). */
export function signalNumber(sig: string): number | null {
  if (/^\d+$/.test(sig)) return Number(sig) > 0 && Number(sig) < 65 ? Number(sig) : null;
  const name = sig.toUpperCase().replace(/^SIG/, '');
  return (constants.signals as Record<string, number>)[`SIG${name}`] ?? null;
}

/**
 * Sends `sig` to the container's init process as `runc kill` (without --all) does, without
 * starting runc: runc's own check first, the pid in its state must still be the process that
 * started then (a reused pid has another start time). Returns false when that cannot be shown
 * or the signal is not known here: the caller asks runc.
 */
export function signalInit(paths: Paths, id: string, sig: string): boolean {
  const signo = signalNumber(sig);
  if (signo === null) return false;
  let state: { init_process_pid?: unknown; init_process_start?: unknown };
  try {
    state = JSON.parse(readFileSync(join(paths.runcRoot, id, 'state.json'), 'utf8')) as typeof state;
  } catch {
    return false;
  }
  const pid = state.init_process_pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof state.init_process_start !== 'number') return false;
  if (startTimeOf(pid) !== state.init_process_start || !alive(pid)) return false;
  try {
    process.kill(pid, signo);
    return true;
  } catch {
    return false;
  }
}
