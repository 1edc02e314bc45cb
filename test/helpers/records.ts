import { macFromIPv4 } from '../../src/common/mac.js';
import type { ContainerConfig, ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';

/** A 64-hex-digit ID made from a number, padded with `fill` (tell records apart by kind). */
export const testId = (n: number, fill: string): string => String(n).padStart(4, '0').padEnd(64, fill);

/** A network record with Docker's defaults for whatever a test does not say (a user-defined bridge). */
export function networkRecord(fields: Partial<NetworkRecord> & { id: string; name: string }): NetworkRecord {
  return {
    driver: 'bridge',
    scope: 'local',
    created: '2024-01-01T00:00:00.000000000Z',
    enableIPv6: false,
    internal: false,
    attachable: false,
    ingress: false,
    configFrom: '',
    configOnly: false,
    ipam: { driver: 'default', options: {}, config: [] },
    options: {},
    labels: {},
    userSubnets: true,
    predefined: false,
    driverState: {},
    ...fields,
  };
}

/**
 * Container n's endpoint on a bridge network at `ip`: the prefix of the network's first subnet,
 * its gateway, and the MAC the bridge driver derives from the address.
 */
export function endpointRecord(n: number, net: NetworkRecord, ip: string, fields: Partial<EndpointRecord> = {}): EndpointRecord {
  const id = testId(n, 'e');
  return {
    id,
    networkId: net.id,
    containerId: testId(n, 'c'),
    ifname: 'eth0',
    hostIfname: `veth${id.slice(0, 7)}`,
    ipv4: `${ip}/${net.ipam.config[0].Subnet.split('/')[1]}`,
    ipv6: '',
    gateway4: net.ipam.config[0].Gateway!,
    gateway6: '',
    mac: macFromIPv4(ip),
    aliases: [],
    requestedIpv4: '',
    requestedIpv6: '',
    ...fields,
  };
}

/** A running container record with Docker's defaults for whatever a test does not say. */
export function containerRecord(fields: Partial<Omit<ContainerRecord, 'config'>> & { name: string; config?: Partial<ContainerConfig> }): ContainerRecord {
  const id = fields.id ?? testId(fields.name.length, 'c');
  const { config, ...rest } = fields;
  return {
    id,
    created: '2024-01-01T00:00:00.000000000Z',
    imageId: 'sha256:' + '0'.repeat(64),
    config: {
      Hostname: id.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, ExposedPorts: null, Tty: false,
      OpenStdin: false, StdinOnce: false, Env: [], Cmd: null, Image: 'alpine', Volumes: null, WorkingDir: '', Entrypoint: null, Labels: {}, ...config,
    },
    hostConfig: {},
    networkMode: 'bridge',
    networks: [],
    state: { status: 'running', pid: 1, exitCode: 0, startedAt: '2024-01-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z', error: '' },
    netnsPath: '',
    restartCount: 0,
    ...rest,
  };
}
