// weft ps: docker's container list table and formatter fields.
import type { Command } from 'commander';
import { clientFor, collect, out, parseFilters, sub } from '../cli-util.js';
import { displayPorts, ellipsis, goLocalTime, humanDuration, humanSize, truncateId, type ApiPort } from '../humanize.js';
import { renderRows } from '../table.js';

export interface ContainerSummary {
  Id: string;
  Names: string[] | null;
  Image: string;
  ImageID?: string;
  Command: string;
  Created: number;
  Ports: ApiPort[] | null;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  SizeRw?: number;
  SizeRootFs?: number;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: { Name?: string; Source?: string }[] | null;
}

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Label: 'LABEL',
};

/** Go's strconv.Quote for the printable strings commands usually are. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function psRow(ct: ContainerSummary, trunc: boolean, now = Date.now()): Record<string, unknown> {
  const labels = ct.Labels ?? {};
  let names = (ct.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) names = names.filter((n) => !n.includes('/')).slice(0, 1);
  let image = ct.Image || '<no image>';
  if (trunc) {
    if (image.startsWith('sha256:') || /^[0-9a-f]{64}$/.test(image)) image = truncateId(image);
    else image = image.replace(/@sha256:[0-9a-f]+$/, '');
  }
  const size =
    ct.SizeRw !== undefined ? `${humanSize(ct.SizeRw)} (virtual ${humanSize(ct.SizeRootFs ?? 0)})` : '0B';
  return {
    ID: trunc ? truncateId(ct.Id) : ct.Id,
    Image: image,
    Command: goQuote(trunc ? ellipsis(ct.Command, 20) : ct.Command),
    CreatedAt: goLocalTime(ct.Created),
    RunningFor: `${humanDuration(now - ct.Created * 1000)} ago`,
    Ports: displayPorts(ct.Ports),
    State: ct.State,
    Status: ct.Status,
    Size: size,
    Names: names.join(','),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Mounts: (ct.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source || '', 15) : m.Name || m.Source)).join(','),
    LocalVolumes: String((ct.Mounts ?? []).filter((m) => m.Name).length),
    Networks: Object.keys(ct.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: null,
    Label: (name: string) => labels[name] ?? '',
  };
}

export function registerPs(parent: Command, name = 'ps'): Command {
  return sub(parent, name, '[OPTIONS]', 'List containers')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <format>', 'Format output using a custom template')
    .option('-n, --last <n>', 'Show n last created containers (includes all states)')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .action(async (o, c: Command) => {
      const limit = o.latest ? 1 : o.last !== undefined ? Number(o.last) : undefined;
      const list = await clientFor(c).get<ContainerSummary[]>('/containers/json', {
        all: o.all || limit !== undefined ? 1 : undefined,
        limit: limit !== undefined && limit > 0 ? limit : undefined,
        size: o.size ? 1 : undefined,
        filters: parseFilters(o.filter),
      });
      let format: string =
        o.format ??
        (o.size
          ? 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}'
          : 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}');
      if (o.quiet) format = '{{.ID}}';
      if (format === 'json') format = '{{json .}}';
      const rows = list.map((ct) => psRow(ct, o.trunc !== false));
      out(renderRows({ format, headers: PS_HEADERS, typeName: '*formatter.ContainerContext', execErrorPrefix: 'failed to execute template' }, rows));
    });
}
