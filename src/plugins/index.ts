import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import type { NetworkRecord } from '../common/model.js';
import type { NetworkDriver } from '../drivers/driver.js';
import type { IpamDriver } from '../ipam/api.js';
import type { Kernel } from '../kernel/types.js';
import { RemoteIpam, parseIpamCapabilities } from './ipam-driver.js';
import { RemoteNetworkDriver, parseCapabilities } from './network-driver.js';
import { PluginCallError } from './client.js';
import type { Plugin, PluginManager } from './plugin.js';

// Resolvers that turn a name no built-in driver has into a plugin's driver (see
// common/named-registry.ts), and the listings of activated plugins.

export { PluginManager, Plugin } from './plugin.js';
export { PluginDiscovery, DOCKER_SOCKET_DIRS, DOCKER_SPEC_DIRS, type PluginDirs } from './discovery.js';
export { RemoteNetworkDriver } from './network-driver.js';
export { RemoteIpam } from './ipam-driver.js';

export interface NetworkResolverDeps {
  kernel: Kernel;
  /** The address space of a network's pools (asked of its IPAM driver). */
  addressSpace: (net: NetworkRecord) => Promise<string>;
  log: Logger;
}

export function networkPluginResolver(plugins: PluginManager, deps: NetworkResolverDeps): (name: string) => Promise<NetworkDriver | null> {
  return async (name) => {
    const plugin = await plugins.get(name, 'NetworkDriver');
    if (!plugin) return null;
    const remote = parseCapabilities(await plugin.call('NetworkDriver', 'GetCapabilities', {}));
    return new RemoteNetworkDriver({ plugin, remote, kernel: deps.kernel, addressSpace: deps.addressSpace, log: deps.log });
  };
}

export function ipamPluginResolver(plugins: PluginManager, deps: { stateDir: string }): (name: string) => Promise<IpamDriver | null> {
  return async (name) => {
    const plugin = await plugins.get(name, 'IpamDriver');
    if (!plugin) return null;
    let caps: Record<string, unknown> | null = null;
    try {
      caps = await plugin.call('IpamDriver', 'GetCapabilities', {});
    } catch (err) {
      if (!(err instanceof PluginCallError && err.notFound)) throw err; // optional: older plugins lack it
    }
    return new RemoteIpam({ plugin, capabilities: parseIpamCapabilities(caps), stateFile: join(deps.stateDir, `${name}.ipam.json`) });
  };
}

const TYPES: Record<string, string> = { NetworkDriver: 'docker.networkdriver/1.0', IpamDriver: 'docker.ipamdriver/1.0' };

/** An activated legacy plugin in the shape of Docker's types.Plugin (GET /plugins). */
export function pluginJson(p: Plugin): Record<string, unknown> {
  const socket = p.address.addr.startsWith('unix://') ? p.address.addr.slice('unix://'.length) : '';
  return {
    Id: createHash('sha256').update(`weft-legacy-plugin:${p.name}`).digest('hex'),
    Name: p.name,
    Enabled: true,
    Settings: { Mounts: [], Env: [], Args: [], Devices: [] },
    PluginReference: '',
    Config: {
      DockerVersion: '',
      Description: `legacy plugin at ${p.address.addr}`,
      Documentation: '',
      Interface: { Types: p.implementsList.map((t) => TYPES[t] ?? t), Socket: socket, ProtocolScheme: 'moby.plugins.http/v1' },
      Entrypoint: null,
      WorkDir: '',
      Network: { Type: '' },
      Linux: { Capabilities: null, AllowAllDevices: false, Devices: null },
      PropagatedMount: '',
      IpcHost: false,
      PidHost: false,
      Mounts: null,
      Env: null,
      Args: { Name: '', Description: '', Settable: null, Value: null },
      rootfs: null,
    },
  };
}
