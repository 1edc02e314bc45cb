// weft network create|ls|inspect|connect|disconnect|rm|prune (and trace, weft's own)
import type { Command } from 'commander';
import { DaemonError } from '../client.js';
import { clientFor, CliError, collect, confirm, err, out, parseFilters, parseKeyValues, requireArgs, sub } from '../cli-util.js';
import { goTimeString, truncateId } from '../humanize.js';
import { renderRows } from '../table.js';
import { printInspect } from './inspect.js';
import { buildIpamConfig } from './network-ipam.js';
import { registerNetworkTrace } from './network-trace.js';

interface NetworkSummary {
  Name: string;
  Id: string;
  Created: string;
  Driver: string;
  Scope: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Labels: Record<string, string> | null;
}

export const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
  Label: 'LABEL',
};

export function networkRow(n: NetworkSummary, trunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  return {
    ID: trunc ? truncateId(n.Id) : n.Id,
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv4: 'false',
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    CreatedAt: goTimeString(n.Created),
    Label: (name: string) => labels[name] ?? '',
  };
}

const naturalLess = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function registerNetwork(program: Command): void {
  const net = sub(program, 'network', 'COMMAND', 'Manage networks');

  sub(net, 'create', '[OPTIONS] NETWORK', 'Create a network')
    .argument('[args...]')
    .option('-d, --driver <driver>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <subnet>', 'Subnet in CIDR format', collect, [])
    .option('--gateway <ip>', 'IPv4 or IPv6 Gateway for the master subnet', collect, [])
    .option('--ip-range <range>', 'Allocate container ip from a sub-range', collect, [])
    .option('--aux-address <name=ip>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect, [])
    .option('--ipam-driver <driver>', 'IP Address Management Driver', 'default')
    .option('--ipam-opt <k=v>', 'Set IPAM driver specific options', collect, [])
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--label <k=v>', 'Set metadata on a network', collect, [])
    .option('-o, --opt <k=v>', 'Set driver specific options', collect, [])
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1);
      const body = {
        Name: args[0],
        CheckDuplicate: true,
        Driver: o.driver,
        EnableIPv6: !!o.ipv6,
        IPAM: {
          Driver: o.ipamDriver,
          Config: buildIpamConfig(o.subnet, o.ipRange, o.gateway, o.auxAddress),
          Options: parseKeyValues(o.ipamOpt),
        },
        Internal: !!o.internal,
        Attachable: !!o.attachable,
        Options: parseKeyValues(o.opt),
        Labels: parseKeyValues(o.label),
      };
      const res = await clientFor(c).post<{ Id: string; Warning?: string }>('/networks/create', body);
      if (res.Warning) err(`${res.Warning}\n`);
      out(`${res.Id}\n`);
    });

  sub(net, 'ls', '[OPTIONS]', 'List networks')
    .alias('list')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collect, [])
    .option('--format <format>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display network IDs')
    .option('--no-trunc', 'Do not truncate the output')
    .action(async (o, c: Command) => {
      const nets = await clientFor(c).get<NetworkSummary[]>('/networks', { filters: parseFilters(o.filter) });
      nets.sort((a, b) => naturalLess(a.Name, b.Name));
      let format: string = o.format ?? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
      if (o.quiet) format = '{{.ID}}';
      if (format === 'json') format = '{{json .}}';
      const rows = nets.map((n) => networkRow(n, o.trunc !== false));
      out(renderRows({ format, headers: NETWORK_HEADERS, typeName: '*network.networkContext' }, rows));
    });

  sub(net, 'inspect', '[OPTIONS] NETWORK [NETWORK...]', 'Display detailed information on one or more networks')
    .argument('[args...]')
    .option('-f, --format <format>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      await printInspect(clientFor(c), args, o.format, 'network');
    });

  sub(net, 'connect', '[OPTIONS] NETWORK CONTAINER', 'Connect a container to a network')
    .argument('[args...]')
    .option('--alias <alias>', 'Add network-scoped alias for the container', collect, [])
    .option('--ip <ip>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <ip>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <link>', 'Add link to another container', collect, [])
    .option('--driver-opt <k=v>', 'driver options for the network', collect, [])
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 2);
      const ipam = o.ip || o.ip6 ? { IPv4Address: o.ip ?? '', IPv6Address: o.ip6 ?? '' } : undefined;
      const body = {
        Container: args[1],
        EndpointConfig: { IPAMConfig: ipam, Aliases: o.alias, Links: o.link, DriverOpts: parseKeyValues(o.driverOpt) },
      };
      await clientFor(c).post(`/networks/${encodeURIComponent(args[0])}/connect`, body);
    });

  sub(net, 'disconnect', '[OPTIONS] NETWORK CONTAINER', 'Disconnect a container from a network')
    .argument('[args...]')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 2);
      await clientFor(c).post(`/networks/${encodeURIComponent(args[0])}/disconnect`, { Container: args[1], Force: !!o.force });
    });

  sub(net, 'rm', 'NETWORK [NETWORK...]', 'Remove one or more networks')
    .alias('remove')
    .argument('[args...]')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (args: string[], o, c: Command) => {
      requireArgs(c, args, 1, Infinity);
      const client = clientFor(c);
      let failed = false;
      for (const name of args) {
        try {
          await client.json('DELETE', `/networks/${encodeURIComponent(name)}`);
          out(`${name}\n`);
        } catch (e) {
          if (o.force && e instanceof DaemonError && e.status === 404) continue;
          if (!(e instanceof DaemonError)) throw e;
          err(`${e.message}\n`);
          failed = true;
        }
      }
      // docker 28 reports the failed removals, then "exit status 1".
      if (failed) throw new CliError('exit status 1', 1);
    });

  sub(net, 'prune', '[OPTIONS]', 'Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
    .action(async (o, c: Command) => {
      const warning = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
      if (!o.force && !(await confirm(warning))) return;
      const res = await clientFor(c).post<{ NetworksDeleted: string[] | null }>('/networks/prune', undefined, {
        filters: parseFilters(o.filter),
      });
      const deleted = res.NetworksDeleted ?? [];
      if (deleted.length > 0) out(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
    });
  registerNetworkTrace(net);
}
