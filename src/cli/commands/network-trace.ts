// weft network trace A B [--port N/proto] [--format json]: why container A can or cannot reach B.
import type { Command } from 'commander';
import type { TraceResult as TraceReply } from '../../engine/trace/trace.js';
import { clientFor, CliError, out, requireArgs, sub } from '../cli-util.js';


export function formatTrace(t: TraceReply): string {
  const lines = [`${t.from} -> ${t.to}${t.port ? ` port ${t.port}` : ' (ping)'}: ${t.reachable ? 'REACHABLE' : 'NOT REACHABLE'}`];
  t.steps.forEach((s, i) => lines.push(`  ${String(i + 1).padStart(2)}. [${s.ok ? ' ok ' : 'FAIL'}] ${s.step}: ${s.detail}`));
  if (t.disagreements.length) {
    lines.push('  The live rules disagree with weft\'s records (changed by hand?):');
    for (const d of t.disagreements) lines.push(`    - ${d}`);
  }
  return lines.join('\n') + '\n';
}

export function registerNetworkTrace(net: Command): void {
  sub(net, 'trace', '[OPTIONS] CONTAINER_A CONTAINER_B', 'Explain whether container A can reach container B, from the live rules')
    .argument('[args...]')
    .option('-p, --port <port>', 'A port, as N or N/tcp, N/udp (default: ping)')
    .option('--format <format>', 'json for the raw answer')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 2);
      if (o.format && o.format !== 'json') throw new CliError(`unknown format ${JSON.stringify(o.format)}: only json`, 1);
      const t = await clientFor(c).json<TraceReply>('GET', '/weft/trace', { query: { from: args[0], to: args[1], port: o.port } });
      out(o.format === 'json' ? JSON.stringify(t, null, 2) + '\n' : formatTrace(t));
    });
}
