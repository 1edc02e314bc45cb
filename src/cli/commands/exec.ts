// weft exec|attach|logs: the streaming commands.
import type { Command } from 'commander';
import { checkTty, pump } from '../attach-io.js';
import { clientFor, CliError, collect, ExitStatus, requireArgs, sub } from '../cli-util.js';
import { StdDemuxer, STDOUT } from '../stdcopy.js';

const enc = encodeURIComponent;

interface ContainerInfo {
  Id: string;
  State: { Running: boolean; Paused?: boolean; Restarting?: boolean; ExitCode: number };
  Config: { Tty: boolean; OpenStdin: boolean };
}

/** Converts --since/--until values (unix time, RFC 3339, or a duration like 10m) to unix seconds. */
export function parseSince(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const dur = /^((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)$/.exec(value);
  if (dur) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
      ms += Number(n) * { h: 3600000, m: 60000, s: 1000, ms: 1 }[unit as 'h' | 'm' | 's' | 'ms'];
    }
    return String(Math.floor((now - ms) / 1000));
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`invalid value for "since": failed to parse value as time or duration: "${value}"`, 1);
  return String(Math.floor(t / 1000));
}

export function registerStreaming(parent: Command): void {
  sub(parent, 'exec', '[OPTIONS] CONTAINER COMMAND [ARG...]', 'Execute a command in a running container')
    .argument('[args...]')
    .passThroughOptions()
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <k=v>', 'Set environment variables', collect, [])
    .option('-u, --user <user>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('--privileged', 'Give extended privileges to the command')
    .option('--detach-keys <keys>', 'Override the key sequence for detaching a container')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 2, Infinity);
      const client = clientFor(c);
      const [container, ...cmd] = args;
      checkTty(!!o.tty && !o.detach, !!o.interactive);
      const env = (o.env as string[]).map((e) => (e.includes('=') || process.env[e] === undefined ? e : `${e}=${process.env[e]}`));
      const created = await client.post<{ Id: string }>(`/containers/${enc(container)}/exec`, {
        User: o.user ?? '',
        Privileged: !!o.privileged,
        Tty: !!o.tty,
        AttachStdin: !!o.interactive && !o.detach,
        AttachStdout: !o.detach,
        AttachStderr: !o.detach,
        DetachKeys: o.detachKeys ?? '',
        Env: env,
        WorkingDir: o.workdir ?? '',
        Cmd: cmd,
      });
      const id = created.Id;
      if (o.detach) {
        await client.post(`/exec/${enc(id)}/start`, { Detach: true, Tty: !!o.tty });
        return;
      }
      const hijacked = await client.hijack(`/exec/${enc(id)}/start`, { body: { Detach: false, Tty: !!o.tty } });
      await pump(hijacked, { tty: !!o.tty, stdin: !!o.interactive, client, resizePath: `/exec/${enc(id)}/resize` });
      const info = await client.get<{ ExitCode: number | null; Running: boolean }>(`/exec/${enc(id)}/json`);
      throw new ExitStatus(info.ExitCode ?? 0);
    });

  sub(parent, 'attach', '[OPTIONS] CONTAINER', 'Attach local standard input, output, and error streams to a running container')
    .argument('[args...]')
    .option('--detach-keys <keys>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process (ignored)')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1);
      const client = clientFor(c);
      const info = await client.get<ContainerInfo>(`/containers/${enc(args[0])}/json`);
      if (!info.State.Running) throw new CliError('You cannot attach to a stopped container, start it first', 1);
      if (info.State.Paused) throw new CliError('You cannot attach to a paused container, unpause it first', 1);
      const stdin = o.stdin !== false && info.Config.OpenStdin;
      checkTty(info.Config.Tty, stdin);
      const hijacked = await client.hijack(`/containers/${enc(info.Id)}/attach`, {
        query: { stream: 1, stdin: stdin ? 1 : 0, stdout: 1, stderr: 1, detachKeys: o.detachKeys },
      });
      await pump(hijacked, { tty: info.Config.Tty, stdin, client, resizePath: `/containers/${enc(info.Id)}/resize` });
      // Exited: report its status; still running after a moment: we detached.
      const waited = client.post<{ StatusCode: number }>(`/containers/${enc(info.Id)}/wait`).catch(() => undefined);
      const r = await Promise.race([waited, new Promise<null>((res) => setTimeout(() => res(null), 1000).unref())]);
      throw new ExitStatus(r ? r.StatusCode : 0);
    });

  sub(parent, 'logs', '[OPTIONS] CONTAINER', 'Fetch the logs of a container')
    .argument('[args...]')
    .option('-f, --follow', 'Follow log output')
    .option('--tail <n>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--since <time>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m")')
    .option('--until <time>', 'Show logs before a timestamp or relative')
    .option('--details', 'Show extra details provided to logs')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1);
      const client = clientFor(c);
      const info = await client.get<ContainerInfo>(`/containers/${enc(args[0])}/json`);
      const res = await client.stream('GET', `/containers/${enc(info.Id)}/logs`, {
        query: {
          stdout: 1,
          stderr: 1,
          follow: o.follow ? 1 : undefined,
          tail: o.tail,
          timestamps: o.timestamps ? 1 : undefined,
          since: o.since ? parseSince(o.since) : undefined,
          until: o.until ? parseSince(o.until) : undefined,
          details: o.details ? 1 : undefined,
        },
      });
      const demux = new StdDemuxer((s, p) => (s === STDOUT ? process.stdout : process.stderr).write(p));
      for await (const chunk of res) {
        if (info.Config.Tty) process.stdout.write(chunk as Buffer);
        else demux.push(chunk as Buffer);
      }
    });
}
