import type { Engine } from '../../engine/engine.js';
import { invalid } from '../../common/errors.js';
import type { Router } from '../router.js';
import { ExecCreateSchema, ExecStartSchema, parse } from '../schemas.js';
import { Reply } from '../server.js';
import { splice } from '../splice.js';

export function execRoutes(router: Router, engine: Engine): void {
  const { execs } = engine;

  router.add('POST', '/containers/{id}/exec', async (ctx) => {
    const body = parse(ExecCreateSchema, await ctx.body());
    const inst = execs.create(ctx.params.id, body);
    return new Reply(201, { Id: inst.id });
  });

  router.hijack('POST', '/exec/{id}/start', async (ctx, h) => {
    const body = parse(ExecStartSchema, await ctx.body());
    const inst = execs.get(ctx.params.id);
    // As in Docker, the exec's own Tty gives it a pty; the start's Tty only says how the stream is
    // framed (testcontainers starts execs made without a Tty with Tty: true: raw output, no pty).
    const started = await execs.start(inst.id, Boolean(body.Tty));
    const session = started.session!;
    if (body.Detach) {
      session.input.end();
      session.output.resume();
      h.respond(200);
      return;
    }
    const wantStdin = Boolean(inst.config.AttachStdin) && h.upgraded;
    if (!wantStdin) session.input.end();
    const { out, stdin } = h.begin(body.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream', wantStdin);
    // A client that leaves does not end the exec (Docker's behaviour); its output is dropped.
    splice(ctx.signal, out, stdin, { output: session.output, input: wantStdin ? session.input : null, close: () => undefined });
  });

  router.add('GET', '/exec/{id}/json', (ctx) => {
    const inst = execs.get(ctx.params.id);
    const cfg = inst.config;
    return {
      CanRemove: false,
      ContainerID: inst.containerId,
      DetachKeys: cfg.DetachKeys ?? '',
      ExitCode: inst.exitCode,
      ID: inst.id,
      OpenStderr: Boolean(cfg.AttachStderr),
      OpenStdin: Boolean(cfg.AttachStdin),
      OpenStdout: Boolean(cfg.AttachStdout),
      ProcessConfig: { arguments: cfg.Cmd.slice(1), entrypoint: cfg.Cmd[0], privileged: Boolean(cfg.Privileged), tty: Boolean(cfg.Tty), user: cfg.User ?? '' },
      Running: inst.running,
      Pid: inst.pid,
    };
  });

  router.add('POST', '/exec/{id}/resize', (ctx) => {
    const inst = execs.get(ctx.params.id);
    const h = Number(ctx.query.get('h'));
    const w = Number(ctx.query.get('w'));
    if (!Number.isInteger(h) || !Number.isInteger(w)) throw invalid('strconv.Atoi: parsing "": invalid syntax');
    inst.session?.resize(h, w);
    return new Reply(201);
  });
}
