// conmon's k8s-file log format, one record per line:
//   2024-01-01T00:00:00.123456789+00:00 stdout F text     (F = full line, P = partial: no newline)
// and its conversion to what Docker's GET /containers/{id}/logs streams.
import { frame } from './frames.js';

export interface LogRecord {
  /** RFC 3339 with nanoseconds, normalised to UTC "Z" like Docker's --timestamps. */
  time: string;
  /** Unix seconds (fractional) for since/until filters. */
  seconds: number;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) ([PF]) ?(.*)$/s;

export function parseLogLine(line: string): LogRecord | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const [, base, frac = '', zone, stream, tag, text] = m;
  const wholeMs = Date.parse(`${base}${zone === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(wholeMs)) return null;
  const fraction = frac ? Number(`0${frac}`) : 0;
  let time: string;
  if (zone === 'Z' || zone === '+00:00' || zone === '-00:00') {
    time = `${base}${frac}Z`;
  } else {
    time = `${new Date(wholeMs).toISOString().slice(0, 19)}${frac}Z`;
  }
  return { time, seconds: wholeMs / 1000 + fraction, stream: stream as 'stdout' | 'stderr', partial: tag === 'P', text };
}

export interface RenderOptions {
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  since: number;
  until: number;
}

export function wanted(rec: LogRecord, o: RenderOptions): boolean {
  if (rec.stream === 'stdout' ? !o.stdout : !o.stderr) return false;
  if (o.since > 0 && rec.seconds < o.since) return false;
  if (o.until > 0 && rec.seconds > o.until) return false;
  return true;
}

/** One record as Docker would send it: raw for TTY containers, else an 8-byte-header frame. */
export function renderRecord(rec: LogRecord, o: RenderOptions, tty: boolean): Buffer {
  const text = (o.timestamps ? `${rec.time} ` : '') + rec.text + (rec.partial ? '' : '\n');
  const payload = Buffer.from(text, 'utf8');
  return tty ? payload : frame(rec.stream === 'stdout' ? 1 : 2, payload);
}

/** Applies tail (count of complete lines, partial pieces belong to the line they precede) to parsed records. */
export function tailRecords(recs: LogRecord[], tail: number | 'all'): LogRecord[] {
  if (tail === 'all' || tail < 0) return recs;
  if (tail === 0) return [];
  let lines = 0;
  for (let i = recs.length - 1; i >= 0; i--) {
    // A complete line ends with an F record; an unterminated last piece also counts as a line.
    if (!recs[i].partial || i === recs.length - 1) {
      lines++;
      if (lines > tail) return recs.slice(i + 1);
    }
  }
  return recs;
}

/** Splits a chunk of log file bytes into complete lines, keeping the unterminated remainder. */
export function splitLines(carry: Buffer, chunk: Buffer): { lines: string[]; carry: Buffer } {
  const all = carry.length ? Buffer.concat([carry, chunk]) : chunk;
  const lines: string[] = [];
  let start = 0;
  for (let nl = all.indexOf(10, start); nl !== -1; nl = all.indexOf(10, start)) {
    if (nl > start) lines.push(all.toString('utf8', start, nl));
    start = nl + 1;
  }
  return { lines, carry: Buffer.from(all.subarray(start)) };
}
