import type { Engine } from '../../engine/engine.js';
import { conflict } from '../../common/errors.js';
import { boolParam, type Ctx, type Hijacked } from '../router.js';
import { splice } from '../splice.js';

// docker attach / run -it: splices the runtime's streams onto the hijacked connection (the CLI
// attaches before it starts the container).

export async function streamAttach(engine: Engine, ctx: Ctx, h: Hijacked): Promise<void> {
  const c = engine.registry.findContainer(ctx.params.id);
  if (c.state.status !== 'running' && c.state.status !== 'created') throw conflict('You cannot attach to a stopped container, start it first');
  const q = ctx.query;
  const wantStdin = boolParam(q, 'stdin') && h.upgraded;
  // Attaching to a created container is queued by the runtime and connected between
  // `runc create` and `runc start`, so not a byte of early output is lost.
  const session = await engine.runtime.attach(c.id, {
    stdin: wantStdin,
    stdout: boolParam(q, 'stdout', true),
    stderr: boolParam(q, 'stderr', true),
    detachKeys: q.get('detachKeys') ?? undefined,
  });
  const { out, stdin } = h.begin(c.config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream', wantStdin);
  splice(ctx.signal, out, stdin, { output: session.output, input: wantStdin ? session.input : null, close: () => session.close() });
}
