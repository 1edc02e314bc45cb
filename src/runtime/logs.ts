// Docker's log stream from conmon's k8s-file log: the whole file (tail/since/until applied), then,
// with follow, whatever is appended until the container has exited.
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogOptions } from './types.js';
import { parseLogLine, renderRecord, splitLines, tailRecords, wanted, type LogRecord } from './k8s-log.js';

async function readFrom(path: string, pos: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = (await fh.stat()).size;
    if (size <= pos) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - pos);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function parse(lines: string[]): LogRecord[] {
  const out: LogRecord[] = [];
  for (const l of lines) {
    const r = parseLogLine(l);
    if (r) out.push(r);
  }
  return out;
}

async function* stream(path: string, opts: LogOptions, tty: boolean, running: () => boolean): AsyncGenerator<Buffer> {
  const first = await readFrom(path, 0);
  let pos = first.length;
  let { lines, carry } = splitLines(Buffer.alloc(0), first);
  const initial = tailRecords(parse(lines).filter((r) => wanted(r, opts)), opts.tail);
  if (initial.length) yield Buffer.concat(initial.map((r) => renderRecord(r, opts, tty)));
  if (!opts.follow) return;
  for (;;) {
    const done = !running(); // checked before reading, so the final read sees everything
    const more = await readFrom(path, pos);
    if (more.length) {
      pos += more.length;
      ({ lines, carry } = splitLines(carry, more));
      const recs = parse(lines).filter((r) => wanted(r, opts) && (opts.until <= 0 || r.seconds <= opts.until));
      if (recs.length) yield Buffer.concat(recs.map((r) => renderRecord(r, opts, tty)));
      continue;
    }
    if (done) return;
    if (opts.until > 0 && Date.now() / 1000 > opts.until) return;
    await sleep(100);
  }
}

export function logStream(path: string, opts: LogOptions, tty: boolean, running: () => boolean): Readable {
  return Readable.from(stream(path, opts, tty, running), { objectMode: false });
}
