// Moving bytes between the local terminal and a hijacked attach/exec connection.
import { execFileSync } from 'node:child_process';
import type { Client, Hijacked } from './client.js';
import { CliError } from './cli-util.js';
import { StdDemuxer, STDOUT } from './stdcopy.js';

export interface PumpOptions {
  tty: boolean;
  stdin: boolean;
  /** Resize endpoint (`/containers/{id}/resize` or `/exec/{id}/resize`), used when stdout is a TTY. */
  resizePath?: string;
  client?: Client;
}

/** Sends the local terminal size to the daemon; failures are ignored like docker does. */
export async function sendResize(client: Client, path: string): Promise<void> {
  if (!process.stdout.isTTY) return;
  const { rows, columns } = process.stdout;
  if (!rows || !columns) return;
  try {
    await client.post(path, undefined, { h: rows, w: columns });
  } catch {
    /* the process may already be gone */
  }
}

/** docker refuses -it when stdin is not a terminal. */
export function checkTty(tty: boolean, stdin: boolean): void {
  if (tty && stdin && !process.stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
}

/** libuv's raw mode keeps output post-processing (\n -> \r\n); docker's does not. */
function setOpost(on: boolean): void {
  try {
    execFileSync('stty', [on ? 'opost' : '-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  } catch {
    /* no stty: keep libuv's behaviour */
  }
}

/** Streams until the daemon closes the output side. Restores the terminal afterwards. */
export function pump(h: Hijacked, opts: PumpOptions): Promise<void> {
  const { socket } = h;
  const demux = opts.tty
    ? undefined
    : new StdDemuxer((stream, payload) => (stream === STDOUT ? process.stdout : process.stderr).write(payload));
  const onData = (chunk: Buffer) => {
    if (demux) demux.push(chunk);
    else process.stdout.write(chunk);
  };
  if (h.head.length) onData(h.head);

  const stdin = process.stdin;
  const raw = opts.stdin && opts.tty && stdin.isTTY;
  if (raw) {
    stdin.setRawMode(true);
    setOpost(false);
  }
  const onInput = (d: Buffer) => socket.write(d);
  const onInputEnd = () => socket.end();
  if (opts.stdin) {
    stdin.on('data', onInput);
    stdin.on('end', onInputEnd);
    stdin.resume();
  }
  const onResize = () => {
    if (opts.client && opts.resizePath) void sendResize(opts.client, opts.resizePath);
  };
  if (opts.tty && opts.resizePath) {
    onResize();
    process.stdout.on('resize', onResize);
    process.on('SIGWINCH', onResize);
  }

  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      if (raw) {
        stdin.setRawMode(false);
        setOpost(true);
      }
      if (opts.stdin) {
        stdin.off('data', onInput);
        stdin.off('end', onInputEnd);
        stdin.pause();
      }
      process.stdout.off('resize', onResize);
      process.off('SIGWINCH', onResize);
      socket.destroy();
      if (e) reject(e);
      else resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        onData(chunk);
      } catch (e) {
        finish(e as Error);
      }
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e: Error) => finish(e));
  });
}
