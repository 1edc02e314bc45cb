// weft top CONTAINER [ps OPTIONS], as docker top prints it (tabwriter: minwidth 20, padding 3).
import type { Command } from 'commander';
import { clientFor, requireArgs, out, sub } from '../cli-util.js';
import { tabwrite } from '../table.js';

export function registerTop(parent: Command): void {
  sub(parent, 'top', 'CONTAINER [ps OPTIONS]', 'Display the running processes of a container')
    .argument('[args...]')
    .allowUnknownOption(true)
    .action(async (args: string[], _o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const [id, ...ps] = args;
      const r = await clientFor(c).get<{ Titles: string[]; Processes: string[][] | null }>(`/containers/${encodeURIComponent(id)}/top`, ps.length ? { ps_args: ps.join(' ') } : undefined);
      const lines = [r.Titles.join('\t'), ...(r.Processes ?? []).map((p) => p.join('\t'))];
      out(tabwrite(lines.join('\n'), 20, 3) + '\n');
    });
}
