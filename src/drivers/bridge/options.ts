import { isIP } from 'node:net';
import { forbidden, invalid } from '../../common/errors.js';
import type { NetworkRecord } from '../../common/model.js';
import type { NftNetwork } from '../../kernel/nft.js';

// Bridge driver options (libnetwork's drivers/bridge labels), validated with Docker's texts:
// "failed to parse <label> value: <v> (<Go's strconv error>)". Unknown options are accepted
// and ignored, as Docker does for the bridge driver (they are echoed back by inspect).

export const OPT_NAME = 'com.docker.network.bridge.name';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_HOST_IP = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_DEFAULT = 'com.docker.network.bridge.default_bridge';

export const DEFAULT_MTU = 1500;

export interface BridgeConfig {
  bridgeName: string;
  mtu: number;
  icc: boolean;
  masquerade: boolean;
  /** Default host address for published ports ('' = all). */
  hostBindingIpv4: string;
  defaultBridge: boolean;
}

const parseErr = (label: string, value: string, why: string) => invalid(`failed to parse ${label} value: ${value} (${why})`);

/** Go's strconv.ParseBool, with its error text. */
export function parseGoBool(label: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw parseErr(label, value, `strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

function parseGoInt(label: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw parseErr(label, value, `strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw parseErr(label, value, `strconv.Atoi: parsing ${JSON.stringify(value)}: value out of range`);
  return n;
}

/** Linux's dev_valid_name, plus what ip -batch and nft need (no quotes, no whitespace). */
export function validIfname(name: string): boolean {
  return name.length > 0 && name.length <= 15 && name !== '.' && name !== '..' && /^[A-Za-z0-9_.@+-]+$/.test(name);
}

/** Validates net.options; `existing` is every stored network (any driver). */
export function parseBridgeOptions(net: NetworkRecord, existing: NetworkRecord[]): BridgeConfig {
  // libnetwork bridge.go CreateNetwork: a bridge needs an IPv4 pool (the null IPAM driver gives 0.0.0.0/0).
  const v4 = net.ipam.config.find((c) => c.Subnet && !c.Subnet.includes(':'));
  if (!v4 || v4.Subnet === '0.0.0.0/0') throw invalid('ipv4 pool is empty');
  const o = net.options ?? {};
  const cfg: BridgeConfig = {
    bridgeName: `br-${net.id.slice(0, 12)}`,
    mtu: DEFAULT_MTU,
    icc: true,
    masquerade: true,
    hostBindingIpv4: '',
    defaultBridge: false,
  };
  if (o[OPT_NAME] !== undefined && o[OPT_NAME] !== '') {
    cfg.bridgeName = o[OPT_NAME];
    if (!validIfname(cfg.bridgeName)) throw invalid(`invalid bridge name ${JSON.stringify(cfg.bridgeName)}: must be 1-15 characters of [A-Za-z0-9_.@+-]`);
  }
  if (o[OPT_MTU] !== undefined && o[OPT_MTU] !== '') {
    const mtu = parseGoInt(OPT_MTU, o[OPT_MTU]);
    if (mtu < 0 || (mtu > 0 && mtu < 68) || mtu > 65535) throw invalid(`invalid MTU number: ${mtu}`);
    cfg.mtu = mtu || DEFAULT_MTU;
  }
  if (o[OPT_ICC] !== undefined) cfg.icc = parseGoBool(OPT_ICC, o[OPT_ICC]);
  if (o[OPT_MASQ] !== undefined) cfg.masquerade = parseGoBool(OPT_MASQ, o[OPT_MASQ]);
  if (o[OPT_DEFAULT] !== undefined) cfg.defaultBridge = parseGoBool(OPT_DEFAULT, o[OPT_DEFAULT]);
  if (o[OPT_HOST_IP] !== undefined) {
    if (!isIP(o[OPT_HOST_IP])) throw parseErr(OPT_HOST_IP, o[OPT_HOST_IP], 'nil ip');
    cfg.hostBindingIpv4 = o[OPT_HOST_IP];
  }
  for (const other of existing) {
    if (other.id === net.id || other.driver !== net.driver) continue;
    const otherName = other.driverState?.bridgeName;
    if (otherName === cfg.bridgeName) {
      throw forbidden(
        `cannot create network ${net.id} (${cfg.bridgeName}): conflicts with network ${other.id} (${otherName}): networks have same bridge name`,
      );
    }
  }
  return cfg;
}

/** What is stored as NetworkRecord.driverState (strings only). */
export function bridgeState(cfg: BridgeConfig): Record<string, string> {
  return {
    bridgeName: cfg.bridgeName,
    mtu: String(cfg.mtu),
    icc: String(cfg.icc),
    masquerade: String(cfg.masquerade),
    hostBindingIpv4: cfg.hostBindingIpv4,
    defaultBridge: String(cfg.defaultBridge),
  };
}

/** Reads driverState back; null when the network never got one (prepare failed). */
export function configOf(net: NetworkRecord): BridgeConfig | null {
  const s = net.driverState ?? {};
  if (!s.bridgeName || !validIfname(s.bridgeName)) return null;
  return {
    bridgeName: s.bridgeName,
    mtu: Number(s.mtu) || DEFAULT_MTU,
    icc: s.icc !== 'false',
    masquerade: s.masquerade !== 'false',
    hostBindingIpv4: s.hostBindingIpv4 ?? '',
    defaultBridge: s.defaultBridge === 'true',
  };
}

export function nftNetworkOf(net: NetworkRecord, cfg: BridgeConfig): NftNetwork {
  const subnets = net.ipam.config.map((c) => c.Subnet).filter(Boolean);
  return {
    bridge: cfg.bridgeName,
    icc: cfg.icc,
    masquerade: cfg.masquerade,
    internal: net.internal,
    subnets4: subnets.filter((s) => !s.includes(':')),
    subnets6: net.enableIPv6 ? subnets.filter((s) => s.includes(':')) : [],
  };
}
