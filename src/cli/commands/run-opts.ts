// Flags shared by `run` and `create`, and their translation into a POST /containers/create body.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, collect, parseKeyValues } from '../cli-util.js';

export interface RunFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  network?: string;
  net?: string;
  networkAlias: string[];
  ip?: string;
  ip6?: string;
  rm?: boolean;
  env: string[];
  hostname?: string;
  dns: string[];
  publish: string[];
  expose: string[];
  entrypoint?: string;
  workdir?: string;
  user?: string;
  label: string[];
  detachKeys?: string;
  macAddress?: string;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
}

export function addRunFlags(c: Command, withDetach: boolean): Command {
  c.helpOption('--help', 'Print usage')
    .argument('[args...]')
    .passThroughOptions()
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <name>', 'Assign a name to the container')
    .option('--network, --net <network>', 'Connect a container to a network')
    .option('--network-alias <alias>', 'Add network-scoped alias for the container', collect, [])
    .option('--ip <ip>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <ip>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('-e, --env <k=v>', 'Set environment variables', collect, [])
    .option('-h, --hostname <name>', 'Container host name')
    .option('--dns <ip>', 'Set custom DNS servers', collect, [])
    .option('-p, --publish <spec>', "Publish a container's port(s) to the host", collect, [])
    .option('--expose <port>', 'Expose a port or a range of ports', collect, [])
    .option('--entrypoint <cmd>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('-l, --label <k=v>', 'Set meta data on a container', collect, [])
    .option('--mac-address <mac>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--privileged', 'Give extended privileges to this container')
    .option('--cap-add <cap>', 'Add Linux capabilities', collect, [])
    .option('--cap-drop <cap>', 'Drop Linux capabilities', collect, [])
    .option('--security-opt <opt>', 'Security Options', collect, []);
  if (withDetach) {
    c.option('-d, --detach', 'Run container in background and print container ID').option(
      '--detach-keys <keys>',
      'Override the key sequence for detaching a container',
    );
  }
  return c;
}

function parseEnv(items: string[]): string[] {
  const out: string[] = [];
  for (const e of items) {
    if (e.includes('=')) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  }
  return out;
}

/**
 * The docker CLI's parseSecurityOpts: `seccomp=<file>` is sent as the file's compacted JSON (the
 * daemon never reads client paths); options need "=" (or the old ":"), no-new-privileges aside.
 */
export function securityOpts(opts: string[]): string[] {
  return opts.map((opt) => {
    let sep = opt.indexOf('=');
    if (sep < 0 && opt !== 'no-new-privileges') {
      sep = opt.indexOf(':');
      if (sep < 0) throw new CliError(`weft: Invalid --security-opt: ${JSON.stringify(opt)}`, 125);
    }
    const [key, value] = sep < 0 ? [opt, ''] : [opt.slice(0, sep), opt.slice(sep + 1)];
    if (key !== 'seccomp' || value === 'unconfined') return opt;
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new CliError(`weft: opening seccomp profile (${value}) failed: ${(err as Error).message}`, 125);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (err) {
      throw new CliError(`weft: compacting json for seccomp profile (${value}) failed: ${(err as Error).message}`, 125);
    }
  });
}

/** Parses -p [ip:][hostPort:]containerPort[/proto] (no port ranges). */
export function parsePublish(spec: string): { key: string; binding: { HostIp: string; HostPort: string } } {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
  }
  let ip = '';
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    ip = v6[1];
    rest = v6[2];
  }
  const parts = rest.split(':');
  if (!ip && parts.length === 3) ip = parts.shift()!;
  if (parts.length > 2 || !/^\d+$/.test(parts[parts.length - 1]) || (parts.length === 2 && !/^\d*$/.test(parts[0]))) {
    throw new CliError(`invalid argument "${spec}" for "-p, --publish" flag: invalid port specification`, 125);
  }
  const containerPort = parts[parts.length - 1];
  const hostPort = parts.length === 2 ? parts[0] : '';
  return { key: `${containerPort}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } };
}

export function createBody(image: string, cmd: string[], f: RunFlags): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of f.publish) {
    const { key, binding } = parsePublish(p);
    exposed[key] = {};
    (bindings[key] ??= []).push(binding);
  }
  for (const e of f.expose) exposed[e.includes('/') ? e : `${e}/tcp`] = {};
  const network = f.net ?? f.network ?? 'default';
  const endpoint =
    f.ip || f.ip6 || f.networkAlias.length
      ? {
          IPAMConfig: f.ip || f.ip6 ? { IPv4Address: f.ip ?? '', IPv6Address: f.ip6 ?? '' } : undefined,
          Aliases: f.networkAlias.length ? f.networkAlias : undefined,
          MacAddress: f.macAddress,
        }
      : undefined;
  return {
    Hostname: f.hostname ?? '',
    User: f.user ?? '',
    AttachStdin: !!f.interactive,
    AttachStdout: !f.detach,
    AttachStderr: !f.detach,
    Tty: !!f.tty,
    OpenStdin: !!f.interactive,
    StdinOnce: !!f.interactive && !f.detach,
    Env: parseEnv(f.env),
    Cmd: cmd.length ? cmd : null,
    Image: image,
    WorkingDir: f.workdir ?? '',
    Entrypoint: f.entrypoint === undefined ? null : [f.entrypoint],
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Labels: parseKeyValues(f.label),
    MacAddress: f.macAddress,
    HostConfig: {
      NetworkMode: network,
      PortBindings: Object.keys(bindings).length ? bindings : undefined,
      AutoRemove: !!f.rm,
      Dns: f.dns,
      Privileged: !!f.privileged,
      CapAdd: f.capAdd.length ? f.capAdd : null,
      CapDrop: f.capDrop.length ? f.capDrop : null,
      SecurityOpt: f.securityOpt.length ? securityOpts(f.securityOpt) : null,
    },
    NetworkingConfig: endpoint ? { EndpointsConfig: { [network]: endpoint } } : undefined,
  };
}
