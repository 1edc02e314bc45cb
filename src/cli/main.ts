// weft: a Docker-compatible CLI talking the Docker Engine API to weftd (or any dockerd).
import { Command } from 'commander';
import { ConnectError, DaemonError } from './client.js';
import { CliError, ExitStatus, sub } from './cli-util.js';
import { registerContainer } from './commands/container.js';
import { registerEvents } from './commands/events.js';
import { registerStreaming } from './commands/exec.js';
import { registerImage } from './commands/image.js';
import { registerInspect } from './commands/inspect.js';
import { registerNetwork } from './commands/network.js';
import { registerPs } from './commands/ps.js';
import { registerSystem } from './commands/system.js';
import { registerTop } from './commands/top.js';
import { registerStats } from './commands/stats.js';
import { TemplateError } from './template.js';

export function buildProgram(): Command {
  const program = new Command('weft')
    .usage('[OPTIONS] COMMAND')
    .description('A container network engine speaking the Docker Engine API')
    .option('-H, --host <host>', 'Daemon socket to connect to (default: $WEFT_HOST, $DOCKER_HOST, unix:///run/weft/weft.sock)')
    .version('0.1.0', '-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .showHelpAfterError(false);
  program.exitOverride((e) => {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') throw new ExitStatus(0);
    if (e.code === 'commander.unknownCommand') {
      const m = /unknown command '([^']+)'/.exec(e.message);
      throw new CliError(`weft: unknown command: weft ${m?.[1] ?? ''}\n\nRun 'weft --help' for more information`, 1);
    }
    throw new CliError(`${e.message.replace(/^error: /, '')}\nSee 'weft --help'.`, 125);
  });
  program.configureOutput({ outputError: () => {} });

  registerNetwork(program);
  registerContainer(program);
  registerStreaming(program);
  registerPs(program);
  registerTop(program);
  registerStats(program);
  registerInspect(program);
  registerImage(program);
  registerEvents(program);
  registerEvents(registerSystem(program));

  // `weft container <cmd>` mirrors the top-level container commands.
  const container = sub(program, 'container', 'COMMAND', 'Manage containers');
  registerContainer(container);
  registerStreaming(container);
  registerPs(container, 'ls').aliases(['list', 'ps']);
  registerTop(container);
  registerStats(container);
  registerInspect(container, 'container');
  return program;
}

/** Maps an error to docker's stderr text and exit status. */
export function reportError(e: unknown): number {
  if (e instanceof ExitStatus) return e.code;
  if (e instanceof CliError) {
    if (e.message) process.stderr.write(`${e.message}\n`);
    return e.code;
  }
  if (e instanceof DaemonError || e instanceof ConnectError) {
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  if (e instanceof TemplateError) {
    process.stderr.write(`template parsing error: ${e.message}\n`);
    return 64;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' && err.path) {
    process.stderr.write(`open ${err.path}: no such file or directory\n`);
    return 1;
  }
  process.stderr.write(`${err?.message ?? String(e)}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

const isEntry = process.argv[1] && /(?:^|\/)(?:weft|main\.js)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    // Exit only after stdout drains, so piped output is never cut short.
    process.stdout.write('', () => process.exit(code));
  });
}
