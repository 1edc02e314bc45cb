// The nouns of the engine, as stored. Field names follow Docker's JSON where one exists so that
// the API layer is a thin projection (see src/api/format.ts).

export interface IpamPoolConfig {
  Subnet: string; // CIDR, e.g. 172.18.0.0/16 or fd00::/64
  IPRange?: string;
  Gateway?: string; // plain address, e.g. 172.18.0.1
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  id: string; // 64 hex
  name: string;
  driver: string; // bridge | host | null | macvlan | overlay | plugin name
  scope: 'local' | 'global' | 'swarm';
  created: string; // RFC 3339 with nanoseconds, as Docker prints it
  enableIPv6: boolean;
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  configFrom: string;
  configOnly: boolean;
  ipam: {
    driver: string; // "default"
    options: Record<string, string> | null;
    config: IpamPoolConfig[]; // resolved: every entry has Subnet and (for non-null drivers) Gateway
  };
  options: Record<string, string>; // driver options as given by the user (Docker echoes them back)
  labels: Record<string, string>;
  /** Predefined networks (bridge, host, none) cannot be removed. */
  predefined: boolean;
  /** Driver-private state computed at create time (e.g. bridge interface name, mtu). */
  driverState: Record<string, string>;
}

export interface EndpointRecord {
  id: string; // 64 hex
  networkId: string;
  containerId: string;
  /** Interface name inside the container (eth0, eth1, ...). */
  ifname: string;
  /** Interface name on the host side (veth...), or '' for drivers that have none. */
  hostIfname: string;
  ipv4: string; // CIDR form, "172.17.0.2/16", or ''
  ipv6: string; // CIDR form or ''
  gateway4: string; // plain address or ''
  gateway6: string;
  mac: string; // 02:42:ac:11:00:02
  aliases: string[];
  /** Addresses the user asked for (kept across restarts); empty when dynamic. */
  requestedIpv4: string;
  requestedIpv6: string;
}
