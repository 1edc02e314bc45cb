import type { Readable, Writable } from 'node:stream';

// One attached session (attach, exec start) spliced onto its client until either ends. Output goes
// to the client with backpressure; the client's stdin, when wanted, goes to the session's input
// and ends it when the client half-closes. When the client goes away (the request's signal) the
// session's close() runs and whatever it still writes is dropped, so a dead client holds nothing.

export interface Spliced {
  output: Readable;
  /** The session's stdin; ended when the client's stdin ends. */
  input: Writable | null;
  /** Ends the session's side: an attach helper is stopped; an exec keeps running, as in Docker. */
  close(): void;
}

export function splice(signal: AbortSignal, out: Writable, stdin: Readable | null, session: Spliced): void {
  let done = false;
  const { output, input } = session;
  const onData = (chunk: Buffer) => {
    if (out.write(chunk)) return;
    output.pause();
    out.once('drain', () => output.resume());
  };
  const finish = () => {
    if (done) return;
    done = true;
    signal.removeEventListener('abort', finish);
    output.off('data', onData);
    output.resume(); // anything more the session writes goes nowhere
    if (stdin && input) stdin.unpipe(input);
    input?.end();
    session.close();
    if (!out.destroyed) out.end();
  };
  out.on('error', finish);
  output.on('data', onData);
  output.on('end', finish);
  output.on('error', finish);
  if (stdin && input) stdin.pipe(input);
  if (signal.aborted) finish();
  else signal.addEventListener('abort', finish, { once: true });
}
