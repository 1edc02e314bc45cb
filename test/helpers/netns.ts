import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

// Every kernel test gets a fresh network namespace from here (libnetwork's testutils idea).
// Processes are started in it with nsenter, not `ip netns exec`: the latter remounts /sys and
// the cgroup mounts vanish, which breaks runc.

export interface TestNetns {
  name: string;
  path: string;
  /** Runs a command inside the namespace and returns stdout; throws on non-zero exit. */
  run(cmd: string, args: string[]): string;
  /** Starts a long-lived process inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Kills every process left in the namespace and deletes it. */
  destroy(): void;
}

export function createTestNetns(prefix = 'wt'): TestNetns {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  const path = `/run/netns/${name}`;
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    path,
    run(cmd, args) {
      return execFileSync('nsenter', [`--net=${path}`, cmd, ...args], { encoding: 'utf8' });
    },
    spawn(cmd, args, opts = {}) {
      return spawn('nsenter', [`--net=${path}`, cmd, ...args], opts);
    },
    destroy() {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync('ip', ['netns', 'del', name]);
      } catch {
        /* already gone */
      }
    },
  };
}
