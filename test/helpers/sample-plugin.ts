import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT } from './daemons.js';
import type { TestNetns } from './netns.js';

// Runs examples/sample-plugin (network driver + IPAM) in a daemon's namespace, with its sockets
// and state in a directory of its own that weftd is pointed at with --plugin-dir.

export const SAMPLE_PLUGIN_MAIN = join(REPO_ROOT, 'dist/examples/sample-plugin/main.js');

export interface SamplePlugin {
  proc: ChildProcess;
  /** Everything it printed (one line per call it received). */
  output(): string;
  /** Resolves when the output matches re. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A root-owned directory (0755) for plugin sockets, removed by the returned function. */
export function pluginDir(mode = 0o755): { path: string; remove: () => void } {
  const path = `/run/wtp-${randomBytes(4).toString('hex')}`;
  mkdirSync(path);
  chmodSync(path, mode); // not through mkdir: the umask would take bits away
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startSamplePlugin(ns: TestNetns, dir: string, args: string[] = []): Promise<SamplePlugin> {
  const name = args.includes('--name') ? args[args.indexOf('--name') + 1] : 'sample';
  const ipam = args.includes('--ipam-name') ? args[args.indexOf('--ipam-name') + 1] : 'sample-ipam';
  for (const n of [name, ipam]) rmSync(join(dir, `${n}.sock`), { force: true });
  const proc = spawn('nsenter', [`--net=${ns.path}`, process.execPath, SAMPLE_PLUGIN_MAIN, '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const plugin: SamplePlugin = {
    proc,
    output: () => out,
    async waitFor(re, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > end) throw new Error(`sample plugin never printed ${re}; output:\n${out}`);
        if (proc.exitCode !== null) throw new Error(`sample plugin exited (${proc.exitCode}); output:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
  await plugin.waitFor(/listening in/);
  if (!existsSync(join(dir, `${name}.sock`))) throw new Error('sample plugin socket missing');
  return plugin;
}
