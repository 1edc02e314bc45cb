// Demultiplexes Docker's attach/logs stream for non-TTY containers: each frame is an 8-byte
// header [stream, 0, 0, 0, size(uint32 BE)] followed by `size` bytes of payload.

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

export type FrameSink = (stream: number, payload: Buffer) => void;

export class StdDemuxer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly sink: FrameSink) {}

  /** Feeds bytes in; emits each complete frame. Throws on an unknown stream id. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const stream = this.buf[0];
      if (stream > SYSTEMERR) throw new Error(`Unrecognized input header: ${stream}`);
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const payload = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      this.sink(stream, payload);
    }
  }

  /** Bytes of an incomplete trailing frame (0 when the stream ended cleanly). */
  get pending(): number {
    return this.buf.length;
  }
}

/** Encodes one frame; the inverse of StdDemuxer (used by tests). */
export function frame(stream: number, payload: Buffer | string): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Splits a whole multiplexed buffer into stdout and stderr. */
export function demuxAll(data: Buffer): { stdout: Buffer; stderr: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  new StdDemuxer((s, p) => (s === STDOUT ? out : err).push(p)).push(data);
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}
