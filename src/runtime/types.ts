import type { Duplex, Readable, Writable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { ContainerSecurity } from './security.js';

// What the engine asks of the container runtime (runc driven through conmon).
// The runtime keeps no state of its own beyond files under exec-root, so that a restarted daemon
// can find running containers again from those files alone.

export interface RunSpec {
  id: string; // 64 hex container id
  name: string;
  imageId: string; // from ImageStore
  args: string[]; // resolved Entrypoint + Cmd
  env: string[]; // KEY=VALUE
  cwd: string;
  user: string; // "" = root
  tty: boolean;
  openStdin: boolean;
  hostname: string;
  /** Path of the network namespace to join, or 'host' to share the daemon's. */
  netns: string | 'host';
  /** Files bind-mounted into the container: container path -> host path (/etc/hosts, /etc/resolv.conf, /etc/hostname). */
  files: Record<string, string>;
  /** Capabilities, seccomp, --privileged (absent: Docker's defaults). */
  security?: ContainerSecurity;
}

export interface ContainerStatus {
  running: boolean;
  pid: number; // 0 when not running
  exitCode: number | null; // null while running or when never started
  startedAt: string | null; // RFC 3339 nano
  finishedAt: string | null;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Docker's detach sequence, default ctrl-p,ctrl-q; closes the attach without stopping the container. */
  detachKeys?: string;
}

/** An attached stream: write = container stdin; for non-TTY containers output is already in Docker's 8-byte-header multiplexed framing, raw for TTY ones. */
export interface AttachSession {
  input: Writable;
  output: Readable;
  close(): void;
}

export interface ExecSpec {
  args: string[];
  env: string[];
  /** Run on a pty (the exec's own Tty). */
  tty: boolean;
  /** Output unframed (the start request's Tty, as in Docker); else Docker's multiplexed frames. */
  raw: boolean;
  stdin: boolean;
  user: string;
  cwd: string;
  privileged: boolean;
}

export interface ExecSession {
  input: Writable;
  output: Readable; // multiplexed frames unless the spec asked for raw output
  resize(height: number, width: number): void;
  /** Resolves with the exit code. */
  done: Promise<number>;
  pid: number;
}

export interface LogOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  tail: number | 'all';
  since: number; // unix seconds, 0 = all
  until: number; // unix seconds, 0 = none
}

export interface Runtime extends EventEmitter {
  // emits 'exit' (id: string, exitCode: number) when a container's main process ends
  create(spec: RunSpec): Promise<void>;
  /** extraEnv is added for this run only (legacy link variables, computed at each start). */
  start(id: string, extraEnv?: string[]): Promise<ContainerStatus>;
  kill(id: string, signal: string): Promise<void>;
  status(id: string): Promise<ContainerStatus>;
  attach(id: string, opts: AttachOptions): Promise<AttachSession>;
  resize(id: string, height: number, width: number): Promise<void>;
  exec(id: string, spec: ExecSpec): Promise<ExecSession>;
  logs(id: string, opts: LogOptions, tty: boolean): Readable;
  /**
   * Ends a run nobody owns (a start a killed daemon never finished): its processes and conmon are
   * killed, its rootfs unmounted, and the run marked as reported. Returns the status after that.
   */
  abandon(id: string): Promise<ContainerStatus>;
  /** Removes bundle, rootfs mount and logs. The container must not be running. */
  remove(id: string): Promise<void>;
  /** Ends attach sessions queued for a start that failed, so clients waiting on them return. */
  cancelAttaches(id: string): void;
  /** Where the container's log file lives (reported by inspect as LogPath). */
  logPath(id: string): string;
  /** Called at daemon start: re-attach exit watching for containers still running. */
  recover(ids: string[]): Promise<void>;
}

export type { Duplex };
