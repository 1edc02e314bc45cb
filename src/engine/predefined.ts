import type { Engine } from './engine.js';
import type { IpamPoolConfig, NetworkRecord } from '../common/model.js';

// The networks every daemon has: bridge (the default), host and none. Changing the default
// bridge's settings takes a daemon restart, as in Docker; the restart re-plumbs running containers.

export interface DefaultBridgeOptions {
  bridgeName: string;
  bip: string | undefined; // gateway/prefix, e.g. 172.17.0.1/16
  fixedCidr: string | undefined;
  mtu: number;
  icc: boolean;
  ipMasq: boolean;
  enableIPv6: boolean;
  fixedCidrV6: string | undefined;
}

function bridgeOptions(o: DefaultBridgeOptions): Record<string, string> {
  return {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': String(o.icc),
    'com.docker.network.bridge.enable_ip_masquerade': String(o.ipMasq),
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': o.bridgeName,
    'com.docker.network.driver.mtu': String(o.mtu),
  };
}

function bipToPool(bip: string, fixedCidr: string | undefined) {
  const [gateway, prefix] = bip.split('/');
  const octets = gateway.split('.').map(Number);
  const bits = Number(prefix);
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (addr & mask) >>> 0;
  const subnet = `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${bits}`;
  return { Subnet: subnet, Gateway: gateway, ...(fixedCidr ? { IPRange: fixedCidr } : {}) };
}

export async function ensurePredefinedNetworks(engine: Engine, o: DefaultBridgeOptions): Promise<void> {
  const { registry, networks } = engine;
  const byName = (name: string) => registry.networks.all().find((n) => n.name === name && n.predefined);
  const options = bridgeOptions(o);
  const config: IpamPoolConfig[] = o.bip ? [bipToPool(o.bip, o.fixedCidr)] : [];
  if (o.enableIPv6 && o.fixedCidrV6) config.push({ Subnet: o.fixedCidrV6 });
  const current = byName('bridge');
  if (current && !defaultBridgeMatches(current, options, o)) await reconfigureDefaultBridge(engine, current, options, config, o.enableIPv6);
  if (!current) {
    await networks.create({ Name: 'bridge', Driver: 'bridge', Options: options, EnableIPv6: o.enableIPv6, IPAM: { Driver: 'default', Config: config, Options: null } }, true);
  }
  if (!byName('host')) await networks.create({ Name: 'host', Driver: 'host', IPAM: { Driver: 'default', Config: [], Options: null } }, true);
  if (!byName('none')) await networks.create({ Name: 'none', Driver: 'null', IPAM: { Driver: 'default', Config: [], Options: null } }, true);
}

function defaultBridgeMatches(net: NetworkRecord, want: Record<string, string>, o: DefaultBridgeOptions): boolean {
  const sameOptions = Object.entries(want).every(([k, v]) => net.options[k] === v);
  const sameSubnet = !o.bip || (net.ipam.config[0]?.Gateway === o.bip.split('/')[0] && net.ipam.config[0]?.Subnet === bipToPool(o.bip, undefined).Subnet);
  const sameRange = (net.ipam.config[0]?.IPRange ?? undefined) === (o.fixedCidr ?? undefined);
  return sameOptions && sameSubnet && sameRange && net.enableIPv6 === o.enableIPv6;
}

/**
 * The default bridge's settings changed across a restart. Same network ID, new kernel state:
 * running containers leave it, it is rebuilt, and they join again with addresses from the new pool.
 */
async function reconfigureDefaultBridge(engine: Engine, net: NetworkRecord, options: Record<string, string>, config: IpamPoolConfig[], enableIPv6: boolean): Promise<void> {
  const { registry, sandboxes, ipam } = engine;
  const driver = await engine.networks.driverOf(net);
  const affected = registry.endpointsOfNetwork(net.id).flatMap((ep) => {
    const c = registry.containers.byId.get(ep.containerId);
    return c ? [{ ep, c }] : [];
  });
  for (const { ep, c } of affected) await sandboxes.leave(c, ep);
  await driver.deleteNetwork(net);
  await ipam.releasePools(net.id);
  const updated: NetworkRecord = { ...net, options, enableIPv6, userSubnets: config.length > 0 };
  updated.ipam = { ...net.ipam, config: await engine.networks.allocatePools(updated, await engine.networks.ipamDriver(net.ipam.driver || 'default'), config) };
  updated.driverState = await driver.prepareNetwork(updated, registry.networks.all().filter((n) => n.id !== net.id));
  await registry.networks.put(updated);
  await driver.createNetwork(updated);
  for (const { c } of affected) {
    const att = c.networks.find((a) => a.networkId === net.id);
    if (att && c.netnsPath) await sandboxes.join(c, att);
    engine.containers.writeFiles(c);
  }
  engine.opts.log.info({ bridge: options['com.docker.network.bridge.name'], subnets: updated.ipam.config.map((p) => p.Subnet) }, 'default bridge reconfigured');
}
