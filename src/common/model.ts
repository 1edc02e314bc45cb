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
  /**
   * The IPAM pools exactly as the user asked for them: inspect echoes these as Docker does (a
   * subnet given without a gateway shows without one), and the allocated ones for a family the
   * user left out. Absent on records made before it existed.
   */
  ipamRequested?: IpamPoolConfig[];
  /** The user chose the subnets (--subnet): Docker allows static container addresses only then. */
  userSubnets: boolean;
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
  /**
   * Published ports of this endpoint, decided by the engine at container start (only on the
   * endpoint that provides the default route, as Docker's gateway endpoint). hostIp is
   * '0.0.0.0' / '::' for every local address of the family, or one address. Absent in records
   * written before ports existed.
   */
  ports?: PortMapping[];
  /**
   * An endpoint the container did not ask for: its docker_gwbridge attachment, the way out of an
   * overlay (libnetwork's gateway_<sandbox> endpoint). Not in the container's networks.
   */
  gatewayService?: boolean;
}

export interface PortMapping {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

/** A container's wish to be on a network (kept while stopped; an endpoint exists only while running). */
export interface NetworkAttachment {
  networkId: string;
  aliases: string[];
  links: string[];
  ipv4Address: string; // requested static address, '' for dynamic
  ipv6Address: string;
  driverOpts: Record<string, string>;
  /** EndpointSettings fields as the client sent them (null = not sent): inspect echoes them, as Docker does. */
  sent?: { IPAMConfig: Record<string, unknown> | null; Aliases: string[] | null; DriverOpts: Record<string, string> | null };
}

export type ContainerStatusName = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  status: ContainerStatusName;
  pid: number;
  exitCode: number;
  startedAt: string; // RFC 3339 nano, or Docker's zero time
  finishedAt: string;
  error: string;
}

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  Labels: Record<string, string>;
}

export interface ContainerRecord {
  id: string;
  name: string; // without the leading slash
  created: string;
  imageId: string;
  config: ContainerConfig;
  /** HostConfig as sent by the client, echoed back by inspect. */
  hostConfig: Record<string, unknown>;
  /** 'bridge' | 'host' | 'none' | a network name; Docker's HostConfig.NetworkMode ('default' resolved). */
  networkMode: string;
  /** Ordered: the first non-internal one provides the default route. Keyed by network id. */
  networks: NetworkAttachment[];
  state: ContainerState;
  /** Path of the container's network namespace while it runs, '' otherwise. */
  netnsPath: string;
  restartCount: number;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's default bridge is the predefined network named bridge (runconfig IsDefault). */
export function isDefaultBridge(net: NetworkRecord): boolean {
  return net.predefined && net.name === 'bridge';
}
