// weft events: the daemon's event stream, printed as the docker CLI prints it.
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { CliError, clientFor, collect, out, parseFilters, sub } from '../cli-util.js';
import { goRfc3339NanoFixed } from '../humanize.js';
import { compileTemplate, TemplateError } from '../template.js';

interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: bigint;
  [key: string]: unknown;
}

/** One line of the stream; timeNano does not fit a double, so it is read as a bigint. */
export function parseEventLine(line: string): EventMessage {
  const nano = /"timeNano":\s*(-?\d+)/.exec(line)?.[1];
  const ev = JSON.parse(line) as EventMessage;
  ev.timeNano = nano ? BigInt(nano) : BigInt(ev.time ?? 0) * 1_000_000_000n;
  return ev;
}

/** The docker CLI's prettyPrintEvent. */
export function prettyEvent(ev: EventMessage): string {
  let line = `${goRfc3339NanoFixed(ev.timeNano)} ${ev.Type} ${ev.Action} ${ev.Actor.ID}`;
  const attrs = ev.Actor.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) line += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return line;
}

export function registerEvents(parent: Command): void {
  sub(parent, 'events', '[OPTIONS]', 'Get real time events from the server')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <format>', 'Format the output using the given Go template')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (o, c: Command) => {
      let render: (ev: EventMessage) => string = prettyEvent;
      if (o.format) {
        try {
          const tmpl = compileTemplate(o.format === 'json' ? '{{json .}}' : o.format);
          render = (ev) => tmpl.execute(ev);
        } catch (e) {
          if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 64);
          throw e;
        }
      }
      const res = await clientFor(c).stream('GET', '/events', { query: { since: o.since, until: o.until, filters: parseFilters(o.filter) } });
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (line.trim()) out(`${render(parseEventLine(line))}\n`);
      }
    });
}
