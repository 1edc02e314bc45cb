// Watches conmon's exit dir (<exec-root>/exits/<id>, content = exit code) and reports each
// container run's exit exactly once: the report is recorded in data-root (exited.json), so a
// restarted daemon re-reports only exits it never saw.
import { existsSync, mkdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import { alive, readInt, type Paths } from './state.js';

export class ExitWatcher {
  private watcher: FSWatcher | null = null;
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly paths: Paths,
    private readonly report: (id: string, code: number) => void,
  ) {}

  private ensure(): void {
    if (this.watcher) return;
    mkdirSync(this.paths.exitDir, { recursive: true });
    this.watcher = watch(this.paths.exitDir, (_ev, name) => {
      if (name) this.check(basename(name.toString()));
    });
    this.watcher.on('error', () => undefined);
    // Safety net: fs events can be missed (and conmon itself can die without writing an exit file).
    this.timer = setInterval(() => {
      for (const id of this.ids) this.check(id, true);
    }, 2000);
    this.timer.unref();
  }

  add(id: string): void {
    this.ensure();
    this.ids.add(id);
    this.check(id);
  }

  forget(id: string): void {
    this.ids.delete(id);
  }

  /** Reports the exit if the exit file is there (or the container's processes are all gone). */
  check(id: string, deep = false): void {
    if (!this.ids.has(id)) return;
    if (!existsSync(this.paths.startedFile(id)) || existsSync(this.paths.reportedFile(id))) return;
    let code = readInt(this.paths.exitFile(id));
    if (code === null) {
      if (!deep) return;
      const pid = readInt(this.paths.pidfile(id));
      const conmon = readInt(this.paths.conmonPidfile(id));
      if (pid === null || alive(pid) || alive(conmon)) return;
      code = readInt(this.paths.exitFile(id)) ?? 255; // conmon vanished without writing one
    }
    try {
      writeFileSync(this.paths.reportedFile(id), JSON.stringify({ code }));
    } catch {
      return; // container removed meanwhile
    }
    this.ids.delete(id);
    this.report(id, code);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
