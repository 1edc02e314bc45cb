// weft run|create|start|stop|kill|rm|wait|port: container lifecycle.
import type { Command } from 'commander';
import { checkTty, pump, type PumpOptions } from '../attach-io.js';
import { DaemonError, type Client } from '../client.js';
import { clientFor, CliError, err, ExitStatus, out, requireArgs, sub } from '../cli-util.js';
import { addRunFlags, createBody, type RunFlags } from './run-opts.js';

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms).unref());

function imageRef(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  return image.includes('@') || image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

/** docker's exit codes for `run`: 125 daemon error, 126 cannot invoke, 127 not found. */
function runError(e: unknown, cmd: string): never {
  if (!(e instanceof DaemonError)) throw e;
  let code = 125;
  if (/executable file not found|no such file or directory|not found/i.test(e.daemonMessage)) code = 127;
  if (/permission denied/i.test(e.daemonMessage)) code = 126;
  throw new CliError(`weft: ${e.message}\n\nRun 'weft ${cmd} --help' for more information`, code);
}

async function createContainer(client: Client, image: string, cmd: string[], f: RunFlags, verb: string): Promise<string> {
  try {
    const res = await client.post<{ Id: string; Warnings?: string[] | null }>('/containers/create', createBody(image, cmd, f), {
      name: f.name,
    });
    for (const w of res.Warnings ?? []) err(`WARNING: ${w}\n`);
    return res.Id;
  } catch (e) {
    if (e instanceof DaemonError && e.status === 404 && /no such image/i.test(e.daemonMessage)) {
      err(`Unable to find image '${imageRef(image)}' locally\n`);
    }
    return runError(e, verb);
  }
}

/** Attaches, starts (via `startFn`) and streams until the container exits; returns its status. */
export async function attachAndWait(
  client: Client,
  id: string,
  io: PumpOptions & { detachKeys?: string; autoRemove?: boolean },
  startFn: () => Promise<void>,
): Promise<number> {
  const hijacked = await client.hijack(`/containers/${enc(id)}/attach`, {
    query: { stream: 1, stdin: io.stdin ? 1 : 0, stdout: 1, stderr: 1, detachKeys: io.detachKeys },
  });
  const waitRes = client.stream('POST', `/containers/${enc(id)}/wait`, {
    query: { condition: io.autoRemove ? 'removed' : 'next-exit' },
  });
  waitRes.catch(() => {});
  await Promise.race([waitRes, sleep(1000)]); // the wait must be registered before the start
  await startFn();
  await pump(hijacked, { ...io, client, resizePath: `/containers/${enc(id)}/resize` });
  const status = waitRes.then(async (res) => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString() || '{}') as { StatusCode?: number; Error?: { Message?: string } | null };
  });
  const first = await Promise.race([status, sleep(500)]);
  if (first === null) {
    // The stream ended but the container did not: we were detached (detach keys).
    try {
      const info = await client.get<{ State?: { Running?: boolean } }>(`/containers/${enc(id)}/json`);
      if (info.State?.Running) return 0;
    } catch {
      /* removed: fall through to the wait result */
    }
  }
  const r = await status;
  if (r.Error?.Message) err(`${r.Error.Message}\n`);
  return r.StatusCode ?? 0;
}

export function registerContainer(parent: Command): void {
  const run = sub(parent, 'run', '[OPTIONS] IMAGE [COMMAND] [ARG...]', 'Create and run a new container from an image');
  addRunFlags(run, true).action(async (args: string[], f: RunFlags, c: Command) => {
    requireArgs(c, args, 1, Infinity);
    if (!f.detach) checkTty(!!f.tty, !!f.interactive);
    const client = clientFor(c);
    const id = await createContainer(client, args[0], args.slice(1), f, 'run');
    const start = () => client.post(`/containers/${enc(id)}/start`).then(() => undefined, (e) => runError(e, 'run'));
    if (f.detach) {
      await start();
      out(`${id}\n`);
      return;
    }
    const io = { tty: !!f.tty, stdin: !!f.interactive, detachKeys: f.detachKeys, autoRemove: !!f.rm };
    const code = await attachAndWait(client, id, io, start);
    if (f.rm) {
      // Daemons without AutoRemove support: remove it ourselves (already-gone is fine).
      await client.json('DELETE', `/containers/${enc(id)}`, { query: { force: 1 } }).catch(() => {});
    }
    throw new ExitStatus(code);
  });

  const create = sub(parent, 'create', '[OPTIONS] IMAGE [COMMAND] [ARG...]', 'Create a new container');
  addRunFlags(create, false).action(async (args: string[], f: RunFlags, c: Command) => {
    requireArgs(c, args, 1, Infinity);
    out(`${await createContainer(clientFor(c), args[0], args.slice(1), f, 'create')}\n`);
  });

  sub(parent, 'start', '[OPTIONS] CONTAINER [CONTAINER...]', 'Start one or more stopped containers')
    .argument('[args...]')
    .option('-a, --attach', "Attach STDOUT/STDERR and forward signals")
    .option('-i, --interactive', "Attach container's STDIN")
    .option('--detach-keys <keys>', 'Override the key sequence for detaching a container')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      if (o.attach || o.interactive) {
        if (args.length > 1) throw new CliError('you cannot start and attach multiple containers at once', 1);
        const info = await client.get<{ Id: string; Config: { Tty: boolean; OpenStdin: boolean } }>(`/containers/${enc(args[0])}/json`);
        const io = { tty: info.Config.Tty, stdin: !!o.interactive && info.Config.OpenStdin, detachKeys: o.detachKeys };
        checkTty(io.tty, io.stdin);
        const code = await attachAndWait(client, info.Id, io, () => client.post(`/containers/${enc(info.Id)}/start`).then(() => undefined));
        throw new ExitStatus(code);
      }
      await eachContainer(args, async (name) => {
        await client.post(`/containers/${enc(name)}/start`);
      }, (failed) => `Error: failed to start containers: ${failed.join(', ')}`);
    });

  sub(parent, 'stop', '[OPTIONS] CONTAINER [CONTAINER...]', 'Stop one or more running containers')
    .argument('[args...]')
    .option('-t, --timeout <seconds>', 'Seconds to wait before killing the container')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      await eachContainer(args, (name) => client.post(`/containers/${enc(name)}/stop`, undefined, { t: o.timeout, signal: o.signal }));
    });

  sub(parent, 'kill', '[OPTIONS] CONTAINER [CONTAINER...]', 'Kill one or more running containers')
    .argument('[args...]')
    .option('-s, --signal <signal>', 'Signal to send to the container')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      await eachContainer(args, (name) => client.post(`/containers/${enc(name)}/kill`, undefined, { signal: o.signal }));
    });

  sub(parent, 'rename', 'CONTAINER NEW_NAME', 'Rename a container')
    .argument('[args...]')
    .action(async (args: string[], _o, c: Command) => {
      requireArgs(c, args, 2);
      const [oldName, newName] = args.map((a) => a.trim());
      if (!oldName || !newName) throw new CliError('Error: Neither old nor new names may be empty', 1);
      try {
        await clientFor(c).post(`/containers/${enc(oldName)}/rename`, undefined, { name: newName });
      } catch (e) {
        if (e instanceof DaemonError) throw new CliError(`${e.message}\nError: failed to rename container named ${oldName}`, 1);
        throw e;
      }
    });

  sub(parent, 'rm', '[OPTIONS] CONTAINER [CONTAINER...]', 'Remove one or more containers')
    .alias('remove')
    .argument('[args...]')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .option('-l, --link', 'Remove the specified link')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      const query = { force: o.force ? 1 : undefined, v: o.volumes ? 1 : undefined, link: o.link ? 1 : undefined };
      // With -f, "No such container" is reported but is not a failure (docker 28).
      await eachContainer(args, (name) => client.json('DELETE', `/containers/${enc(name)}`, { query }), undefined, !!o.force);
    });

  sub(parent, 'wait', 'CONTAINER [CONTAINER...]', 'Block until one or more containers stop, then print their exit codes')
    .argument('[args...]')
    .action(async (args: string[], _o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      await eachContainer(args, async (name) => {
        const r = await client.post<{ StatusCode: number }>(`/containers/${enc(name)}/wait`);
        return String(r.StatusCode);
      });
    });
}

/** Runs an action per container, printing the name (or the action's text) or the error. */
async function eachContainer(
  names: string[],
  action: (name: string) => Promise<unknown>,
  summary?: (failed: string[]) => string,
  notFoundOk = false,
): Promise<void> {
  const failed: string[] = [];
  for (const name of names) {
    try {
      const r = await action(name);
      out(`${typeof r === 'string' ? r : name}\n`);
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      err(`${e.message}\n`);
      if (!(notFoundOk && e.status === 404)) failed.push(name);
    }
  }
  if (failed.length) throw summary ? new CliError(summary(failed), 1) : new ExitStatus(1);
}
