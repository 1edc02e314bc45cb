import { conflict, notFound } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { Registry } from './registry.js';
import type { ExecSession, Runtime } from '../runtime/types.js';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

export interface ExecInstance {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  session: ExecSession | null;
}

// Exec instances live in memory only, like Docker's: they do not survive a daemon restart.
export class ExecService {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(
    private readonly registry: Registry,
    private readonly runtime: Runtime,
  ) {}

  create(containerRef: string, config: ExecConfig): ExecInstance {
    const c = this.registry.findContainer(containerRef);
    if (c.state.status !== 'running') throw conflict(`Container ${c.id} is not running`);
    const inst: ExecInstance = { id: newId(), containerId: c.id, config, running: false, exitCode: null, pid: 0, session: null };
    this.execs.set(inst.id, inst);
    return inst;
  }

  get(id: string): ExecInstance {
    const inst = this.execs.get(id);
    if (!inst) throw notFound(`No such exec instance: ${id}`);
    return inst;
  }

  /** raw: unframed output (the start request's Tty); the pty is the exec's own Tty, as in Docker. */
  async start(id: string, raw: boolean): Promise<ExecInstance> {
    const inst = this.get(id);
    if (inst.running || inst.exitCode !== null) throw conflict(`Error: Exec command ${id} has already run`);
    const c = this.registry.findContainer(inst.containerId);
    if (c.state.status !== 'running') throw conflict(`Container ${c.id} is not running`);
    const cfg = inst.config;
    const session = await this.runtime.exec(c.id, {
      args: cfg.Cmd,
      env: [...c.config.Env, ...(cfg.Env ?? [])],
      tty: Boolean(cfg.Tty),
      raw,
      stdin: Boolean(cfg.AttachStdin),
      user: cfg.User ?? c.config.User,
      cwd: cfg.WorkingDir || c.config.WorkingDir || '/',
      privileged: Boolean(cfg.Privileged),
    });
    inst.session = session;
    inst.running = true;
    inst.pid = session.pid;
    void session.done.then(
      (code) => this.finish(inst, code),
      () => this.finish(inst, 126),
    );
    return inst;
  }

  private finish(inst: ExecInstance, code: number): void {
    inst.running = false;
    inst.exitCode = code;
    inst.session = null;
  }

  /** Drops finished instances of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, inst] of this.execs) if (inst.containerId === containerId) this.execs.delete(id);
  }
}
