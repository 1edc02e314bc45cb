import { forbidden, invalid } from '../common/errors.js';
import type { NetworkAttachment, NetworkRecord } from '../common/model.js';
import type { Registry } from './registry.js';
import type { SandboxKind } from './sandbox.js';

// Turns Docker's HostConfig.NetworkMode + NetworkingConfig.EndpointsConfig into the ordered list of
// networks a container wants, with Docker's rules for the default bridge, host and none.

export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  DriverOpts?: Record<string, string> | null;
  NetworkID?: string;
  MacAddress?: string;
}

export const ERR_HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';
export const ERR_SHARED_NETWORK = 'container sharing network namespace with another container or host cannot be connected to any other network';
export const ERR_NONE_NETWORK = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

/** Docker's name for a network-mode value: default → bridge. */
export function resolveMode(mode: string | undefined): string {
  return !mode || mode === 'default' ? 'bridge' : mode;
}

export function attachmentFor(net: NetworkRecord, settings: EndpointSettings | null | undefined): NetworkAttachment {
  const ipv4 = settings?.IPAMConfig?.IPv4Address ?? '';
  const ipv6 = settings?.IPAMConfig?.IPv6Address ?? '';
  const aliases = settings?.Aliases ?? [];
  // Docker's IsUserDefined is by name: bridge, host and none take neither addresses nor aliases.
  if (net.predefined) {
    if (ipv4 || ipv6) throw invalid('user specified IP address is supported on user defined networks only');
    if (aliases.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
  } else if ((ipv4 || ipv6) && !net.userSubnets) {
    throw invalid('user specified IP address is supported only when connecting to networks with user configured subnets');
  }
  // A swarm network is for services unless made --attachable (Docker's wording, from swarmkit).
  if (net.scope === 'swarm' && !net.attachable) throw forbidden(`Could not attach to network ${net.name}: rpc error: code = PermissionDenied desc = network ${net.name} not manually attachable`);
  const sent = { IPAMConfig: settings?.IPAMConfig ?? null, Aliases: settings?.Aliases ?? null, DriverOpts: settings?.DriverOpts ?? null };
  return { networkId: net.id, aliases: [...aliases], links: [...(settings?.Links ?? [])], ipv4Address: ipv4, ipv6Address: ipv6, driverOpts: { ...(settings?.DriverOpts ?? {}) }, sent };
}

export function buildAttachments(
  registry: Registry,
  kindOf: (net: NetworkRecord) => SandboxKind,
  networkMode: string | undefined,
  endpoints: Record<string, EndpointSettings | null> | null,
): { networkMode: string; attachments: NetworkAttachment[] } {
  const mode = resolveMode(networkMode);
  if (mode.startsWith('container:')) throw invalid('network mode "container:" is not supported by weft yet');
  const primary = registry.findNetwork(mode);
  const settingsFor = (net: NetworkRecord) => endpoints?.[net.name] ?? endpoints?.[net.id] ?? endpoints?.[mode] ?? null;
  const attachments = [attachmentFor(primary, settingsFor(primary))];
  for (const [key, settings] of Object.entries(endpoints ?? {})) {
    const net = registry.findNetwork(resolveMode(key));
    if (net.id === primary.id) continue;
    if (kindOf(primary) === 'host' || kindOf(net) === 'host') throw invalid(ERR_HOST_NETWORK);
    if (kindOf(primary) === 'isolated' || kindOf(net) === 'isolated') throw invalid(ERR_NONE_NETWORK);
    attachments.push(attachmentFor(net, settings));
  }
  return { networkMode: primary.predefined ? primary.name : networkMode || primary.name, attachments };
}
