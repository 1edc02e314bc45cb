// Go type shapes of the API objects users format with `inspect -f`, so that printing whole
// sub-objects matches the docker CLI (`{10.0.0.0/24   map[]}` for a struct, `map[a:b]` for a map).
import { S, typed, type Schema } from './gotypes.js';

const ipamConfig = S.struct('network.IPAMConfig', [
  ['Subnet', S.str],
  ['IPRange', S.str],
  ['Gateway', S.str],
  ['AuxAddress', S.map()],
]);

const endpointResource = S.struct('types.EndpointResource', [
  ['Name', S.str],
  ['EndpointID', S.str],
  ['MacAddress', S.str],
  ['IPv4Address', S.str],
  ['IPv6Address', S.str],
]);

export const networkSchema: Schema = S.struct('types.NetworkResource', [
  ['Name', S.str],
  ['Id', S.str],
  ['Created', S.str],
  ['Scope', S.str],
  ['Driver', S.str],
  ['EnableIPv6', S.bool],
  ['IPAM', S.struct('network.IPAM', [['Driver', S.str], ['Options', S.map()], ['Config', S.slice(ipamConfig)]])],
  ['Internal', S.bool],
  ['Attachable', S.bool],
  ['Ingress', S.bool],
  ['ConfigFrom', S.struct('network.ConfigReference', [['Network', S.str]])],
  ['ConfigOnly', S.bool],
  ['Containers', S.map(endpointResource)],
  ['Options', S.map()],
  ['Labels', S.map()],
  ['Peers', S.slice(S.any)],
]);

const endpointSettings = S.struct('network.EndpointSettings', [
  ['IPAMConfig', S.struct('network.EndpointIPAMConfig', [['IPv4Address', S.str], ['IPv6Address', S.str], ['LinkLocalIPs', S.slice(S.str)]])],
  ['Links', S.slice(S.str)],
  ['Aliases', S.slice(S.str)],
  ['NetworkID', S.str],
  ['EndpointID', S.str],
  ['Gateway', S.str],
  ['IPAddress', S.str],
  ['IPPrefixLen', S.int],
  ['IPv6Gateway', S.str],
  ['GlobalIPv6Address', S.str],
  ['GlobalIPv6PrefixLen', S.int],
  ['MacAddress', S.str],
  ['DriverOpts', S.map()],
]);

export const containerSchema: Schema = S.struct('types.ContainerJSON', [
  ['Id', S.str],
  ['Created', S.str],
  ['Path', S.str],
  ['Args', S.slice(S.str)],
  ['State', S.struct('types.ContainerState', [
    ['Status', S.str], ['Running', S.bool], ['Paused', S.bool], ['Restarting', S.bool], ['OOMKilled', S.bool],
    ['Dead', S.bool], ['Pid', S.int], ['ExitCode', S.int], ['Error', S.str], ['StartedAt', S.str], ['FinishedAt', S.str],
  ])],
  ['Image', S.str],
  ['Name', S.str],
  ['RestartCount', S.int],
  ['HostConfig', S.struct('container.HostConfig', [
    ['NetworkMode', S.str], ['PortBindings', S.map(S.slice(S.struct('nat.PortBinding', [['HostIp', S.str], ['HostPort', S.str]])))],
    ['AutoRemove', S.bool], ['Dns', S.slice(S.str)], ['DnsOptions', S.slice(S.str)], ['DnsSearch', S.slice(S.str)],
    ['ExtraHosts', S.slice(S.str)], ['Privileged', S.bool],
  ])],
  ['Config', S.struct('container.Config', [
    ['Hostname', S.str], ['Domainname', S.str], ['User', S.str], ['Env', S.slice(S.str)],
    ['Cmd', S.slice(S.str)], ['Image', S.str], ['WorkingDir', S.str], ['Entrypoint', S.slice(S.str)],
    ['Labels', S.map()],
  ])],
  ['NetworkSettings', S.struct('types.NetworkSettings', [
    ['Bridge', S.str], ['SandboxID', S.str], ['Ports', S.map(S.any)], ['SandboxKey', S.str],
    ['EndpointID', S.str], ['Gateway', S.str], ['IPAddress', S.str], ['IPPrefixLen', S.int],
    ['MacAddress', S.str], ['Networks', S.map(endpointSettings)],
  ])],
]);

/** Applies the schema for an inspect result of the given object type. */
export function typedInspect(kind: 'network' | 'container' | 'image', v: unknown): unknown {
  if (kind === 'network') return typed(v, networkSchema);
  if (kind === 'container') return typed(v, containerSchema);
  return v;
}
