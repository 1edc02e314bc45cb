import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { cgroupDirsOf, type CgroupDirs } from './cgroup.js';

// One sample of a running container's counters, read from files only (no process is spawned per
// sample): CPU, memory and PIDs from its cgroup (v1 or v2, wherever runc put it), network
// counters from /proc/<pid>/net/dev, which is the interface table of the process's own network
// namespace. Shaped as Docker's StatsJSON pieces (api/types/stats.go), so the API only adds
// names and times.

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface NetStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface Sample {
  cpu_stats: CpuStats;
  memory_stats: Record<string, unknown>;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, BlkioEntry[]>;
  networks?: Record<string, NetStats>;
}

/** Nanoseconds per USER_HZ tick (Linux exports 100 ticks a second to user space). */
const NS_PER_TICK = 1e7;

async function text(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function num(path: string): Promise<number | undefined> {
  const t = await text(path);
  if (t === null) return undefined;
  const n = Number(t.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
export function keyValues(t: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (t ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}

/** /proc/stat's first line as Docker counts it (user..softirq, in ns). */
export function systemCpuUsage(procStat: string): number {
  const cpu = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!cpu) return 0;
  return cpu.trim().split(/\s+/).slice(1, 8).reduce((a, w) => a + Number(w), 0) * NS_PER_TICK;
}

/** /proc/<pid>/net/dev, keeping the interfaces `keep` accepts (Docker reports the endpoints, not lo). */
export function parseNetDev(t: string, keep: (name: string) => boolean): Record<string, NetStats> {
  const out: Record<string, NetStats> = {};
  for (const line of t.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!keep(name)) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out[name] = { rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3], tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11] };
  }
  return out;
}

async function cpuV1(dirs: CgroupDirs): Promise<CpuStats> {
  const acct = dirs.controllers.get('cpuacct');
  const cpu = dirs.controllers.get('cpu');
  const stat = keyValues(acct ? await text(join(acct, 'cpuacct.stat')) : null);
  const percpu = acct ? ((await text(join(acct, 'cpuacct.usage_percpu'))) ?? '').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  const thr = keyValues(cpu ? await text(join(cpu, 'cpu.stat')) : null);
  return {
    cpu_usage: {
      total_usage: (acct && (await num(join(acct, 'cpuacct.usage')))) || 0,
      percpu_usage: percpu,
      usage_in_kernelmode: (stat.system ?? 0) * NS_PER_TICK,
      usage_in_usermode: (stat.user ?? 0) * NS_PER_TICK,
    },
    throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
  };
}

async function cpuV2(dir: string): Promise<CpuStats> {
  const s = keyValues(await text(join(dir, 'cpu.stat')));
  return {
    cpu_usage: { total_usage: (s.usage_usec ?? 0) * 1000, usage_in_kernelmode: (s.system_usec ?? 0) * 1000, usage_in_usermode: (s.user_usec ?? 0) * 1000 },
    throttling_data: { periods: s.nr_periods ?? 0, throttled_periods: s.nr_throttled ?? 0, throttled_time: (s.throttled_usec ?? 0) * 1000 },
  };
}

/** A limit above the machine's memory means none: Docker then reports the machine's memory. */
function limitOf(raw: number | undefined): number {
  const machine = totalmem();
  return raw === undefined || !Number.isFinite(raw) || raw > machine ? machine : raw;
}

/** The memory.stat keys dockerd reports on cgroup v1 (containerd's v1 MemoryStat), and their total_ forms. */
const V1_MEMORY_KEYS = ['cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'];
const V1_KEEP = new Set([...V1_MEMORY_KEYS, ...V1_MEMORY_KEYS.map((k) => `total_${k}`), 'hierarchical_memory_limit', 'hierarchical_memsw_limit']);

async function memoryV1(dir: string | undefined): Promise<Record<string, unknown>> {
  if (!dir) return {};
  const all = keyValues(await text(join(dir, 'memory.stat')));
  const failcnt = (await num(join(dir, 'memory.failcnt'))) ?? 0;
  return {
    usage: (await num(join(dir, 'memory.usage_in_bytes'))) ?? 0,
    max_usage: (await num(join(dir, 'memory.max_usage_in_bytes'))) ?? 0,
    stats: Object.fromEntries(Object.entries(all).filter(([k]) => V1_KEEP.has(k))),
    ...(failcnt ? { failcnt } : {}), // omitted when 0, as dockerd's JSON does
    limit: limitOf(await num(join(dir, 'memory.limit_in_bytes'))),
  };
}

async function memoryV2(dir: string): Promise<Record<string, unknown>> {
  const max = await text(join(dir, 'memory.max'));
  return {
    usage: (await num(join(dir, 'memory.current'))) ?? 0,
    stats: keyValues(await text(join(dir, 'memory.stat'))),
    limit: limitOf(max === null || max.trim() === 'max' ? undefined : Number(max)),
  };
}

async function pids(dir: string | undefined): Promise<{ current?: number; limit?: number }> {
  if (!dir) return {};
  const current = await num(join(dir, 'pids.current'));
  const limit = await num(join(dir, 'pids.max')); // "max" (none) is not a number: left out, as Docker does
  return { ...(current !== undefined ? { current } : {}), ...(limit !== undefined ? { limit } : {}) };
}

/** blkio.throttle.io_service_bytes_recursive (v1) or io.stat (v2), as Docker's entries. */
async function blkio(dirs: CgroupDirs): Promise<BlkioEntry[]> {
  const out: BlkioEntry[] = [];
  if (dirs.version === 2) {
    for (const line of ((await text(join(dirs.unified!, 'io.stat'))) ?? '').split('\n')) {
      const [dev, ...kv] = line.trim().split(/\s+/);
      if (!dev?.includes(':')) continue;
      const [major, minor] = dev.split(':').map(Number);
      const vals = Object.fromEntries(kv.map((p) => p.split('=')));
      out.push({ major, minor, op: 'read', value: Number(vals.rbytes ?? 0) }, { major, minor, op: 'write', value: Number(vals.wbytes ?? 0) });
    }
  } else {
    const dir = dirs.controllers.get('blkio');
    for (const line of ((dir && (await text(join(dir, 'blkio.throttle.io_service_bytes_recursive')))) || '').split('\n')) {
      const [dev, op, value] = line.trim().split(/\s+/);
      if (!dev?.includes(':') || value === undefined) continue;
      const [major, minor] = dev.split(':').map(Number);
      out.push({ major, minor, op: op.toLowerCase(), value: Number(value) });
    }
  }
  return out;
}

const BLKIO_KEYS = ['io_service_bytes_recursive', 'io_serviced_recursive', 'io_queue_recursive', 'io_service_time_recursive', 'io_wait_time_recursive', 'io_merged_recursive', 'io_time_recursive', 'sectors_recursive'];

export interface SampleOptions {
  /** Interfaces to report (the container's endpoints); null: no network stats (host network). */
  interfaces: ((name: string) => boolean) | null;
}

/** Reads one sample of the process's container; null when the process is gone. */
export async function readSample(pid: number, opts: SampleOptions): Promise<Sample | null> {
  const dirs = await cgroupDirsOf(pid);
  if (!dirs) return null;
  const v2 = dirs.version === 2 ? dirs.unified! : null;
  const [cpu, memory, pidStats, io, procStat, netDev] = await Promise.all([
    v2 ? cpuV2(v2) : cpuV1(dirs),
    v2 ? memoryV2(v2) : memoryV1(dirs.controllers.get('memory')),
    pids(v2 ?? dirs.controllers.get('pids')),
    blkio(dirs),
    text('/proc/stat'),
    opts.interfaces ? text(`/proc/${pid}/net/dev`) : Promise.resolve(null),
  ]);
  cpu.system_cpu_usage = systemCpuUsage(procStat ?? '');
  cpu.online_cpus = availableParallelism();
  return {
    cpu_stats: cpu,
    memory_stats: memory,
    pids_stats: pidStats,
    // dockerd fills only this one on v1 here; the rest are empty lists while the container runs.
    blkio_stats: { ...Object.fromEntries(BLKIO_KEYS.map((k) => [k, []])), io_service_bytes_recursive: io },
    ...(opts.interfaces && netDev !== null ? { networks: parseNetDev(netDev, opts.interfaces) } : {}),
  };
}

/** The PIDs in the container's cgroup (for top): any hierarchy lists them all. */
export async function cgroupPids(pid: number): Promise<number[] | null> {
  const dirs = await cgroupDirsOf(pid);
  if (!dirs) return null;
  const dir = dirs.unified ?? dirs.controllers.get('pids') ?? dirs.controllers.get('memory') ?? [...dirs.controllers.values()][0];
  const t = dir ? await text(join(dir, 'cgroup.procs')) : null;
  if (t === null) return null;
  return t.split('\n').filter(Boolean).map(Number);
}
