import { mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { systemError } from '../common/errors.js';
import { parseBatchFailures, type BatchFailure } from './batch.js';
import { commandError, inNetns, runChecked, spawnCollect } from './exec.js';

// Every kernel effect of weft goes through a Kernel: `ip`, `nft`, sysctls and namespace files.
// A Kernel built with {netns} runs everything inside that namespace (tests pass a throwaway
// one); the daemon runs inside its own namespace and passes nothing.
// Costs here: spawning ip ~3 ms, nft ~5 ms, so hot paths batch: one `ip -batch -` per namespace
// and one `nft -f -` (atomic) per operation.

export interface KernelOptions {
  /** Path of the network namespace every command runs in (via nsenter); none = our own. */
  netns?: string;
  /**
   * The nft binary weft's batches run as. The daemon passes a `weft-nft` alias (see
   * firewall-watch.ts nftAlias): the kernel names the committing process in every nftables
   * generation, which is how the firewall watch tells weft's own changes from anyone else's.
   */
  nft?: string;
}

export interface IpBatchOptions {
  /** Run inside this namespace (a container sandbox) instead of the kernel's own. */
  netns?: string;
  /** Keep going past failing lines and return them instead of throwing (ip -force). */
  force?: boolean;
}

export class Kernel {
  readonly netns: string | undefined;
  /** The nft binary that writes (reads and the monitor use plain `nft`). */
  readonly nftWriter: string;

  constructor(opts: KernelOptions = {}) {
    this.netns = opts.netns;
    this.nftWriter = opts.nft ?? 'nft';
  }

  /** Runs `ip -batch -` with the given lines. Throws on failure unless force, which returns the failures. */
  async ipBatch(lines: string[], opts: IpBatchOptions = {}): Promise<BatchFailure[]> {
    if (lines.length === 0) return [];
    const input = lines.join('\n') + '\n';
    const ipArgs = opts.force ? ['-force', '-batch', '-'] : ['-batch', '-'];
    const [cmd, args] = inNetns(opts.netns ?? this.netns, 'ip', ipArgs);
    const r = await spawnCollect(cmd, args, input);
    if (r.code === 0) return [];
    const failures = parseBatchFailures(r.stderr, lines);
    if (!opts.force || failures.length === 0) throw commandError(cmd, args, r.stderr, input);
    return failures;
  }

  /** `ip -json <args>` parsed (e.g. ['link', 'show', 'type', 'bridge']). */
  async ipJson<T = Record<string, unknown>[]>(ipArgs: string[], opts: { netns?: string } = {}): Promise<T> {
    const [cmd, args] = inNetns(opts.netns ?? this.netns, 'ip', ['-json', ...ipArgs]);
    const out = (await runChecked(cmd, args)).trim();
    return (out ? JSON.parse(out) : []) as T;
  }

  /** Applies an nft script atomically (`nft -f -`): all of it or nothing. */
  async nftApply(script: string): Promise<void> {
    const [cmd, args] = inNetns(this.netns, this.nftWriter, ['-f', '-']);
    await runChecked(cmd, args, script);
  }

  /** Checks an nft script without applying it (`nft -c -f -`). */
  async nftCheck(script: string): Promise<void> {
    const [cmd, args] = inNetns(this.netns, 'nft', ['-c', '-f', '-']);
    await runChecked(cmd, args, script);
  }

  /** `nft -j <args>` parsed; returns the "nftables" array. */
  async nftJson(nftArgs: string[]): Promise<Record<string, any>[]> {
    const [cmd, args] = inNetns(this.netns, 'nft', ['-j', ...nftArgs]);
    const out = (await runChecked(cmd, args)).trim();
    return out ? (JSON.parse(out).nftables ?? []) : [];
  }

  /** Sets sysctls (net.ipv4.ip_forward=1 ...). optional: keys the kernel lacks are skipped. */
  async sysctls(entries: Record<string, string>, opts: { optional?: boolean } = {}): Promise<void> {
    const keys = Object.keys(entries);
    if (keys.length === 0) return;
    if (this.netns) {
      // /proc/sys/net shows the namespace of whoever opens it: write from inside.
      const flags = opts.optional ? ['-e', '-q', '-w'] : ['-q', '-w'];
      const [cmd, args] = inNetns(this.netns, 'sysctl', [...flags, ...keys.map((k) => `${k}=${entries[k]}`)]);
      await runChecked(cmd, args);
      return;
    }
    for (const key of keys) {
      try {
        await writeFile(`/proc/sys/${key.replace(/\./g, '/')}`, entries[key]);
      } catch (err) {
        if (opts.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw systemError(`sysctl ${key}=${entries[key]}: ${(err as Error).message}`);
      }
    }
  }

  sysctl(key: string, value: string): Promise<void> {
    return this.sysctls({ [key]: value });
  }

  /**
   * Creates a persistent network namespace bound at path (e.g. <execRoot>/netns/<id>) with lo
   * up, in one spawn: `unshare --net=<path> ip link set lo up`. Idempotent: an existing
   * namespace at path is kept.
   */
  async createNetns(path: string): Promise<void> {
    if (await isMountPoint(path)) return;
    await mkdir(dirname(path), { recursive: true });
    await (await open(path, 'a')).close();
    await runChecked('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
  }

  /** Unmounts and removes a namespace file; fine if it is already gone. */
  async deleteNetns(path: string): Promise<void> {
    for (let i = 0; i < 8 && (await isMountPoint(path)); i++) await runChecked('umount', [path]);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(`remove ${path}: ${(err as Error).message}`);
    }
  }

  /** True when path is a mount point (a bound namespace) in our mount namespace. */
  netnsExists(path: string): Promise<boolean> {
    return isMountPoint(path);
  }
}

async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && unescapeMount(mp) === resolve(path)) return true;
  }
  return false;
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
