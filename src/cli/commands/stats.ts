// weft stats [CONTAINER...]: docker stats' table (cli/command/container/stats_helpers.go and
// formatter_stats.go): CPU % from the pair of samples in one answer, memory without the
// inactive file cache, NET I/O and BLOCK I/O in decimal units, memory in binary units.
import type { Command } from 'commander';
import { clientFor, out, sub } from '../cli-util.js';
import { humanSize, truncateId } from '../humanize.js';
import { renderRows } from '../table.js';

const HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Name: 'NAME',
  Container: 'CONTAINER',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** go-units BytesSize: binary units, %.4g. */
export function bytesSize(size: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/** One row of docker stats from a StatsJSON answer. */
export function statsRow(s: any, ref: string, noTrunc: boolean): Record<string, unknown> {
  const cpu = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
  const cpuDelta = cpu - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  const cpuPerc = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const m = s.memory_stats ?? {};
  const st = m.stats ?? {};
  const inactive = st.total_inactive_file ?? st.inactive_file;
  const mem = inactive !== undefined && inactive < (m.usage ?? 0) ? m.usage - inactive : (m.usage ?? 0);
  const limit = m.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values<any>(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/^r/i.test(e.op)) read += e.value;
    else if (/^w/i.test(e.op)) write += e.value;
  }
  const name = String(s.name ?? '').replace(/^\//, '');
  return {
    ID: noTrunc ? s.id : truncateId(s.id ?? ''),
    Name: name || '--',
    Container: ref,
    CPUPerc: `${cpuPerc.toFixed(2)}%`,
    MemUsage: `${bytesSize(mem)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit ? (mem / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(read)} / ${humanSize(write)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

export function registerStats(parent: Command): void {
  sub(parent, 'stats', '[OPTIONS] [CONTAINER...]', 'Display a live stream of container(s) resource usage statistics')
    .argument('[containers...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (containers: string[], o, c: Command) => {
      const client = clientFor(c);
      const refs = containers.length ? containers : (await client.get<{ Id: string }[]>('/containers/json', o.all ? { all: 1 } : undefined)).map((x) => x.Id);
      const format = !o.format || o.format === 'table' ? DEFAULT_FORMAT : o.format;
      // Each round asks every container for a sample pair (stream=false), which takes a second.
      for (;;) {
        const all = await Promise.all(refs.map((r) => client.get<any>(`/containers/${encodeURIComponent(r)}/stats`, { stream: 0 })));
        const text = renderRows({ format, headers: HEADERS, typeName: 'formatter.statsContext' }, all.map((s, i) => statsRow(s, refs[i], o.trunc === false)));
        if (o.stream === false) {
          out(text);
          return;
        }
        out(`\x1b[2J\x1b[H${text}`);
      }
    });
}
