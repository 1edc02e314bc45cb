// Docker's multiplexed stream framing: [stream, 0, 0, 0, size BE32] + payload.
// stream: 0 = stdin, 1 = stdout, 2 = stderr.
import { Transform, type TransformCallback } from 'node:stream';

export type StreamId = 0 | 1 | 2;

export function frame(stream: StreamId, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a framed byte stream back into frames; `raw` true yields only the payloads (for TTY sessions). */
export class FrameFilter extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  constructor(
    private readonly keep: { stdout: boolean; stderr: boolean },
    private readonly raw: boolean,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      const stream = this.pending[0];
      const whole = this.pending.subarray(0, 8 + len);
      this.pending = this.pending.subarray(8 + len);
      if ((stream === 1 && !this.keep.stdout) || (stream === 2 && !this.keep.stderr)) continue;
      this.push(this.raw ? Buffer.from(whole.subarray(8)) : Buffer.from(whole));
    }
    cb();
  }
}
