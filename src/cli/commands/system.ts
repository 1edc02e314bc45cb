// weft system firewall-reload (weft's own verb: Docker users restart dockerd for this)
import type { Command } from 'commander';
import { clientFor, out, requireArgs, sub } from '../cli-util.js';

interface ReloadReply {
  Table: string;
  Networks: number;
  PublishedPorts: number;
  DurationMs: number;
}

/** `weft system`; returns it so other verbs (events) can join. */
export function registerSystem(program: Command): Command {
  const system = sub(program, 'system', 'COMMAND', 'Manage weft');

  sub(system, 'firewall-reload', '', "Rebuild weft's nftables table from its records now")
    .argument('[args...]')
    .action(async (args: string[], _o, c: Command) => {
      requireArgs(c, args, 0);
      const r = await clientFor(c).post<ReloadReply>('/weft/firewall/reload');
      out(`Reloaded table ${r.Table}: ${r.Networks} networks, ${r.PublishedPorts} published ports (${r.DurationMs} ms)\n`);
    });
  return system;
}
