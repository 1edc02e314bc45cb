import type { ContainerRecord, EndpointRecord, NetworkAttachment, NetworkRecord } from '../../common/model.js';
import { ZERO_TIME } from '../../common/model.js';
import type { Registry } from '../../engine/registry.js';
import { fileMounts } from '../../engine/containerFiles.js';
import { humanDuration, unixSeconds } from '../../common/time.js';
import { compareVersions } from '../router.js';
import { listPortsJson, portsJson } from '../../engine/ports.js';

// Docker's container JSON: inspect (GET /containers/{id}/json) and list (GET /containers/json).

function prefixLen(cidr: string): number {
  return cidr ? Number(cidr.split('/')[1]) : 0;
}

function addr(cidr: string): string {
  return cidr ? cidr.split('/')[0] : '';
}

/** The DNS names a container answers to on a network (Docker ≥ 1.44's DNSNames). */
export function dnsNames(c: ContainerRecord, net: NetworkRecord, att: NetworkAttachment): string[] {
  if (net.predefined) return [];
  const names = [c.name, ...att.aliases, c.id.slice(0, 12)];
  if (c.config.Hostname && !names.includes(c.config.Hostname)) names.push(c.config.Hostname);
  return [...new Set(names)];
}

function endpointSettings(c: ContainerRecord, net: NetworkRecord, att: NetworkAttachment, ep: EndpointRecord | undefined, version: string) {
  const staticIpam = att.ipv4Address || att.ipv6Address ? { IPv4Address: att.ipv4Address || undefined, IPv6Address: att.ipv6Address || undefined } : null;
  const sentAliases = att.sent ? att.sent.Aliases : att.aliases.length ? att.aliases : null;
  // Before API 1.44 Docker listed the short container ID among a user network's aliases (now DNSNames).
  const short = c.id.slice(0, 12);
  const aliases = !net.predefined && compareVersions(version, '1.44') < 0 ? [...(sentAliases ?? []).filter((a) => a !== short), short] : sentAliases;
  const out: Record<string, unknown> = {
    IPAMConfig: att.sent?.IPAMConfig ?? staticIpam,
    Links: att.links.length ? att.links : null,
    Aliases: aliases,
    MacAddress: ep?.mac ?? '',
    // Docker fills NetworkID once the container has run on the network.
    NetworkID: ep || c.state.startedAt !== ZERO_TIME ? net.id : '',
    EndpointID: ep?.id ?? '',
    Gateway: ep?.gateway4 ?? '',
    IPAddress: addr(ep?.ipv4 ?? ''),
    IPPrefixLen: prefixLen(ep?.ipv4 ?? ''),
    IPv6Gateway: ep?.gateway6 ?? '',
    GlobalIPv6Address: addr(ep?.ipv6 ?? ''),
    GlobalIPv6PrefixLen: prefixLen(ep?.ipv6 ?? ''),
    DriverOpts: att.sent ? att.sent.DriverOpts : Object.keys(att.driverOpts).length ? att.driverOpts : null,
  };
  if (compareVersions(version, '1.44') >= 0) out.DNSNames = net.predefined ? null : dnsNames(c, net, att);
  return out;
}

export function networksJson(c: ContainerRecord, registry: Registry, version: string): Record<string, Record<string, unknown>> {
  const eps = registry.endpointsOfContainer(c.id);
  const out: Record<string, Record<string, unknown>> = {};
  for (const att of c.networks) {
    const net = registry.networks.byId.get(att.networkId);
    if (!net) continue;
    out[net.name] = endpointSettings(c, net, att, eps.find((e) => e.networkId === net.id), version);
  }
  return out;
}

export function stateJson(c: ContainerRecord) {
  const s = c.state;
  return {
    Status: s.status,
    Running: s.status === 'running',
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: s.status === 'dead',
    Pid: s.pid,
    ExitCode: s.exitCode,
    Error: s.error,
    StartedAt: s.startedAt,
    FinishedAt: s.finishedAt,
  };
}

/** ownFiles: weft writes the container's /etc files (not when it shares the host's namespace). */
export function containerInspectJson(c: ContainerRecord, registry: Registry, dataRoot: string, logPath: string, version: string, ownFiles: boolean) {
  const files = fileMounts(dataRoot, c.id);
  const networks = networksJson(c, registry, version);
  const bridge = networks.bridge ?? {};
  const running = c.state.status === 'running';
  return {
    Id: c.id,
    Created: c.created,
    Path: [...(c.config.Entrypoint ?? []), ...(c.config.Cmd ?? [])][0] ?? '',
    Args: [...(c.config.Entrypoint ?? []), ...(c.config.Cmd ?? [])].slice(1),
    State: stateJson(c),
    Image: c.imageId,
    ResolvConfPath: ownFiles ? files['/etc/resolv.conf'] : '',
    HostnamePath: ownFiles ? files['/etc/hostname'] : '',
    HostsPath: ownFiles ? files['/etc/hosts'] : '',
    LogPath: logPath,
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: { NetworkMode: c.networkMode, ...c.hostConfig },
    GraphDriver: { Data: null, Name: 'overlay' },
    Mounts: [],
    Config: c.config,
    NetworkSettings: {
      Bridge: '',
      SandboxID: running && c.netnsPath ? c.id : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: portsJson(c, registry.endpointsOfContainer(c.id)),
      SandboxKey: running ? c.netnsPath : '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: bridge.EndpointID ?? '',
      Gateway: bridge.Gateway ?? '',
      GlobalIPv6Address: bridge.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: bridge.GlobalIPv6PrefixLen ?? 0,
      IPAddress: bridge.IPAddress ?? '',
      IPPrefixLen: bridge.IPPrefixLen ?? 0,
      IPv6Gateway: bridge.IPv6Gateway ?? '',
      MacAddress: bridge.MacAddress ?? '',
      Networks: networks,
    },
  };
}

export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.state;
  if (s.status === 'running') return `Up ${humanDuration(now - Date.parse(s.startedAt))}`;
  if (s.status === 'created') return 'Created';
  if (s.status === 'exited') return `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
  return s.status;
}

export function containerListJson(c: ContainerRecord, registry: Registry, version: string) {
  const args = [...(c.config.Entrypoint ?? []), ...(c.config.Cmd ?? [])];
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.config.Image,
    ImageID: c.imageId,
    Command: args.join(' '),
    Created: unixSeconds(c.created),
    Ports: listPortsJson(c, registry.endpointsOfContainer(c.id)),
    Labels: c.config.Labels ?? {},
    State: c.state.status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.networkMode },
    NetworkSettings: { Networks: networksJson(c, registry, version) },
    Mounts: [],
  };
}
