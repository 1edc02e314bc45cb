import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import { boolParam, type Ctx, type Hijacked } from '../router.js';

// docker attach / run -it: waits for a created container to start (the CLI attaches before it
// starts the container), then splices the runtime's streams onto the hijacked connection.

export async function streamAttach(engine: Engine, ctx: Ctx, h: Hijacked): Promise<void> {
  const c = engine.registry.findContainer(ctx.params.id);
  const q = ctx.query;
  const wantStdin = boolParam(q, 'stdin') && h.upgraded;
  h.begin(c.config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
  let closed = false;
  h.conn.on('close', () => (closed = true));
  while (!closed && c.state.status !== 'running') {
    if (c.state.status === 'exited' || !engine.registry.containers.byId.has(c.id)) {
      h.conn.end();
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (closed) return;
  const session = await engine.runtime.attach(c.id, {
    stdin: wantStdin,
    stdout: boolParam(q, 'stdout', true),
    stderr: boolParam(q, 'stderr', true),
    detachKeys: q.get('detachKeys') ?? undefined,
  });
  splice(h.conn, session.output, wantStdin ? session.input : null, () => session.close());
}

/** Output → client until either side ends; client → input when stdin is wanted. */
export function splice(conn: Hijacked['conn'], output: Readable, input: Writable | null, close: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    close();
    conn.end();
  };
  output.on('data', (chunk: Buffer) => conn.write(chunk));
  output.on('end', finish);
  output.on('error', finish);
  conn.on('close', finish);
  conn.on('error', finish);
  if (input) {
    conn.on('data', (chunk: Buffer) => input.write(chunk));
    conn.resume();
  }
}
