// An attach session on conmon's SOCK_SEQPACKET attach socket, bridged by weft-rtio (Node cannot
// open SEQPACKET sockets). The helper turns conmon's [pipe byte + data] packets into Docker frames;
// stdin passes through the detach-key scanner before reaching the helper.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import type { AttachOptions, AttachSession } from './types.js';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from './detach.js';
import { FrameFilter } from './frames.js';
import { helperPath } from '../common/native.js';
import { systemError } from '../common/errors.js';

export class AttachBridge implements AttachSession {
  readonly output = new PassThrough();
  readonly input: Writable;
  private child: ChildProcess | null = null;
  private queued: Buffer[] = [];
  private inputEnded = false;
  private closed = false;
  private readonly scanner: DetachScanner;

  constructor(
    private readonly opts: AttachOptions,
    private readonly tty: boolean,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.scanner = new DetachScanner(parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS));
    this.input = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.closed || !opts.stdin) return cb();
        const { forward, detached } = this.scanner.feed(chunk);
        if (forward.length) this.send(forward);
        if (detached) this.close();
        cb();
      },
      final: (cb) => {
        this.inputEnded = true;
        if (this.child?.stdin && opts.stdin) this.child.stdin.end();
        cb();
      },
    });
    this.input.on('error', () => undefined);
  }

  private send(buf: Buffer): void {
    if (this.child?.stdin) this.child.stdin.write(buf);
    else this.queued.push(buf);
  }

  /** Connects to <bundle>/attach; resolves once the socket is connected (so no output is missed). */
  connect(bundle: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const args = ['attach', bundle, ...(this.opts.stdin ? [] : ['noin'])];
    const child = spawn(helperPath('weft-rtio'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    const filter = new FrameFilter({ stdout: this.opts.stdout, stderr: this.opts.stderr }, this.tty);
    child.stdout!.pipe(filter).pipe(this.output, { end: false });
    filter.on('end', () => this.finish());
    return new Promise<void>((resolve, reject) => {
      let err = '';
      const onData = (d: Buffer) => {
        err += d.toString();
        if (err.includes('connected\n')) {
          child.stderr!.off('data', onData);
          for (const b of this.queued) child.stdin!.write(b);
          this.queued = [];
          if (this.inputEnded && this.opts.stdin) child.stdin!.end();
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.on('error', reject);
      child.on('exit', () => {
        if (!err.includes('connected\n')) reject(systemError(`attach failed: ${err.trim() || 'helper exited'}`));
      });
    });
  }

  private finish(): void {
    if (!this.output.writableEnded) this.output.end();
    if (!this.closed) {
      this.closed = true;
      this.onClose();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child?.kill('SIGTERM');
    if (!this.output.writableEnded) this.output.end();
    this.onClose();
  }
}
