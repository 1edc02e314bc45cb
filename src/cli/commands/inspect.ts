// Inspect output: an indented JSON array, or one rendered template line per object.
import type { Command } from 'commander';
import { DaemonError, type Client } from '../client.js';
import { clientFor, CliError, out, requireArgs, sub } from '../cli-util.js';
import { typedInspect } from '../schemas.js';
import { compileTemplate, TemplateError } from '../template.js';

export type Kind = 'network' | 'container' | 'image';

const PATHS: Record<Kind, (name: string) => string> = {
  network: (n) => `/networks/${encodeURIComponent(n)}`,
  container: (n) => `/containers/${encodeURIComponent(n)}/json`,
  image: (n) => `/images/${encodeURIComponent(n)}/json`,
};

async function fetchOne(client: Client, name: string, kind: Kind | undefined): Promise<[unknown, Kind]> {
  if (kind) return [await client.get(PATHS[kind](name)), kind];
  for (const k of ['container', 'image', 'network'] as Kind[]) {
    try {
      return [await client.get(PATHS[k](name)), k];
    } catch (e) {
      if (!(e instanceof DaemonError && e.status === 404)) throw e;
    }
  }
  throw new CliError(`Error: No such object: ${name}`, 1);
}

/** Prints inspect results; errors for missing objects come after the output, like docker. */
export async function printInspect(client: Client, names: string[], format: string | undefined, kind?: Kind): Promise<void> {
  const tmpl = format ? compileInspectTemplate(format) : undefined;
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      const [obj, k] = await fetchOne(client, name, kind);
      if (tmpl) {
        try {
          out(`${tmpl.execute(typedInspect(k, obj))}\n`);
        } catch (e) {
          if (e instanceof TemplateError) {
            out('\n');
            throw new CliError(`template parsing error: ${e.message}`, 1);
          }
          throw e;
        }
      } else found.push(obj);
    } catch (e) {
      if (e instanceof DaemonError || e instanceof CliError) {
        if (e instanceof CliError && e.message.startsWith('template parsing error')) throw e;
        errors.push(e.message);
      } else throw e;
    }
  }
  if (!tmpl) out(`${found.length ? JSON.stringify(found, null, 4) : '[]'}\n`);
  if (errors.length) throw new CliError(errors.join('\n'), 1);
}

function compileInspectTemplate(format: string) {
  try {
    return compileTemplate(format === 'json' ? '{{json .}}' : format, { missingKeyError: true });
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 64);
    throw e;
  }
}

export function registerInspect(parent: Command, kind?: Kind): void {
  const c = sub(parent, 'inspect', '[OPTIONS] NAME|ID [NAME|ID...]', 'Return low-level information on objects')
    .argument('[args...]')
    .option('-f, --format <format>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container');
  if (!kind) c.option('--type <type>', 'Return JSON for specified type');
  c.action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      if (kind) o.type = kind;
      if (o.type && !['container', 'image', 'network'].includes(o.type)) {
        throw new CliError(`"${o.type}" is not a valid value for --type`, 1);
      }
      await printInspect(clientFor(c), args, o.format, o.type as Kind | undefined);
    });
}
