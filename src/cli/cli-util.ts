// Shared plumbing for commands: the client from global flags, docker-style usage errors,
// repeatable flags and k=v parsing, output helpers.
import { Command, CommanderError } from 'commander';
import { Client } from './client.js';
import { resolveHost } from './host.js';

/** A failure that is printed as-is to stderr with the given exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** Exit quietly with a status (e.g. a container's exit code). */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit status ${code}`);
  }
}

export function commandPath(c: Command): string {
  const names: string[] = [];
  for (let cur: Command | null = c; cur; cur = cur.parent) names.unshift(cur.name());
  return names.join(' ');
}

/** Creates a subcommand with docker-style flag errors (`unknown flag: --x`, exit 125). */
export function sub(parent: Command, name: string, usage: string, description: string): Command {
  const c = parent.command(name).usage(usage).description(description);
  c.exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') {
      throw new ExitStatus(0);
    }
    let msg = err.message.replace(/^error: /, '');
    const unknown = /unknown option '([^']+)'/.exec(msg);
    if (unknown) msg = `unknown ${unknown[1].startsWith('--') ? 'flag' : 'shorthand flag'}: ${unknown[1]}`;
    const missing = /option '([^']+)' argument missing/.exec(msg);
    if (missing) msg = `flag needs an argument: ${/--[\w-]+/.exec(missing[1])?.[0] ?? missing[1]}`;
    throw new CliError(`${msg}\n\nUsage:  ${commandPath(c)} ${c.usage()}\n\nRun '${commandPath(c)} --help' for more information`, 125);
  });
  c.configureOutput({ outputError: () => {} });
  return c;
}

/** Checks the positional argument count like docker's cli.ExactArgs / RequiresMinArgs. */
export function requireArgs(c: Command, args: string[], min: number, max = min): void {
  if (args.length >= min && args.length <= max) return;
  const plural = (n: number) => (n === 1 ? 'argument' : 'arguments');
  const what =
    min === max ? `${min} ${plural(min)}` : args.length < min ? `at least ${min} ${plural(min)}` : `at most ${max} ${plural(max)}`;
  throw new CliError(
    `weft: '${commandPath(c)}' requires ${what}\n\nUsage:  ${commandPath(c)} ${c.usage()}\n\n` +
      `${min === max ? 'Run' : 'See'} '${commandPath(c)} --help' for more information`,
    1,
  );
}

export function clientFor(c: Command): Client {
  const opts = c.optsWithGlobals() as { host?: string };
  return new Client(resolveHost(opts.host));
}

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Parses k=v pairs (labels, options); a bare key maps to "". */
export function parseKeyValues(items: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (i < 0) out[item] = '';
    else out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Builds the API's filters JSON ({"key": {"value": true}}) from -f k=v flags. */
export function parseFilters(items: string[] = []): string | undefined {
  if (items.length === 0) return undefined;
  const f: Record<string, Record<string, boolean>> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (i <= 0) throw new CliError(`invalid argument "${item}" for "-f, --filter" flag: bad format of filter (expected name=value)`, 125);
    const k = item.slice(0, i).trim().toLowerCase();
    (f[k] ??= {})[item.slice(i + 1)] = true;
  }
  return JSON.stringify(f);
}

export function out(s: string): void {
  process.stdout.write(s);
}

export function err(s: string): void {
  process.stderr.write(s);
}

/** Prompts on the terminal; true for y/yes. Non-interactive stdin answers no. */
export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  process.stdin.pause();
  const answer = Buffer.concat(chunks).toString().trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}
