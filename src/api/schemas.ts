import { isIP } from 'node:net';
import { z } from 'zod';
import { invalid } from '../common/errors.js';

// Request bodies, validated at the edge (shapes from Docker's Engine API spec). Handlers get
// typed values; unknown keys pass through as Docker ignores them.

// Go's decoder leaves a field at its zero value for a JSON null, and docker-py sends null for
// every keyword left unset (IPAMPool's iprange, gateway...): optional fields accept null too.
const optStr = z.string().nullish().transform((v) => v ?? undefined);
const optBool = z.boolean().nullish().transform((v) => v ?? undefined);
const stringMap = z.record(z.string(), z.string());
const nullableStringMap = stringMap.nullish();

/** Go's net.ParseCIDR, as libnetwork's IPAM applies it to a requested pool. */
export function isCidr(value: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!m) return false;
  const bits = Number(m[2]);
  if (isIP(m[1]) === 4) return bits <= 32 && !/(^|\.)0\d/.test(m[1]);
  if (isIP(m[1]) === 6) return bits <= 128;
  return false;
}

export const IpamPoolSchema = z
  .object({
    Subnet: optStr.superRefine((v, ctx) => {
        // dockerd 20.10 says this with a 500; a client error is a 400 (as later dockers answer).
        if (v && !isCidr(v)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `Invalid subnet ${v} : invalid CIDR address: ${v}`, params: { bare: true } });
      }),
    IPRange: optStr,
    Gateway: optStr,
    AuxiliaryAddresses: nullableStringMap,
  })
  .passthrough();

export const NetworkCreateSchema = z
  .object({
    // A missing name decodes as "" in Go; the engine refuses it with dockerd's "invalid name: ".
    Name: z.string().nullish().transform((v) => v ?? ''),
    CheckDuplicate: optBool,
    Driver: optStr,
    Scope: optStr,
    Internal: optBool,
    Attachable: optBool,
    Ingress: optBool,
    ConfigOnly: optBool,
    ConfigFrom: z.object({ Network: optStr }).nullish(),
    EnableIPv6: optBool,
    IPAM: z
      .object({ Driver: optStr, Config: z.array(IpamPoolSchema).nullish(), Options: nullableStringMap })
      .nullish(),
    Options: nullableStringMap,
    Labels: nullableStringMap,
  })
  .passthrough();

export const EndpointSettingsSchema = z
  .object({
    IPAMConfig: z
      .object({ IPv4Address: optStr, IPv6Address: optStr, LinkLocalIPs: z.array(z.string()).nullish() })
      .nullish(),
    Links: z.array(z.string()).nullish(),
    Aliases: z.array(z.string()).nullish(),
    DriverOpts: nullableStringMap,
    MacAddress: optStr,
  })
  .passthrough();

/** GET /networks/{id} query: any scope string (an unknown one finds nothing, as on dockerd). */
export const NetworkInspectQuerySchema = z
  .object({ scope: optStr, verbose: optStr })
  .passthrough();

export const NetworkConnectSchema = z.object({ Container: z.string().nullish().transform((v) => v ?? ''), EndpointConfig: EndpointSettingsSchema.nullish() }).passthrough();
export const NetworkDisconnectSchema = z.object({ Container: z.string().nullish().transform((v) => v ?? ''), Force: optBool }).passthrough();

const stringList = z.array(z.string()).nullish();
const command = z.union([z.array(z.string()), z.string().transform((s) => [s])]).nullish();

export const ContainerCreateSchema = z
  .object({
    Image: z.string().optional(),
    Hostname: z.string().optional(),
    Domainname: z.string().optional(),
    User: z.string().optional(),
    AttachStdin: z.boolean().optional(),
    AttachStdout: z.boolean().optional(),
    AttachStderr: z.boolean().optional(),
    Tty: z.boolean().optional(),
    OpenStdin: z.boolean().optional(),
    StdinOnce: z.boolean().optional(),
    Env: stringList,
    Cmd: command,
    Entrypoint: command,
    WorkingDir: z.string().optional(),
    Labels: nullableStringMap,
    ExposedPorts: z.record(z.string(), z.object({}).passthrough()).nullish(),
    HostConfig: z
      .object({
        NetworkMode: z.string().optional(),
        AutoRemove: z.boolean().optional(),
        Dns: stringList,
        DnsSearch: stringList,
        DnsOptions: stringList,
        ExtraHosts: stringList,
        Links: stringList,
        Privileged: z.boolean().optional(),
        CapAdd: stringList,
        CapDrop: stringList,
        SecurityOpt: stringList,
      })
      .passthrough()
      .nullish(),
    NetworkingConfig: z.object({ EndpointsConfig: z.record(z.string(), EndpointSettingsSchema.nullable()).nullish() }).passthrough().nullish(),
  })
  .passthrough();

export const ExecCreateSchema = z
  .object({
    AttachStdin: z.boolean().optional(),
    AttachStdout: z.boolean().optional(),
    AttachStderr: z.boolean().optional(),
    DetachKeys: z.string().optional(),
    Tty: z.boolean().optional(),
    Env: stringList,
    Cmd: z.array(z.string()).min(1, 'No exec command specified'),
    Privileged: z.boolean().optional(),
    User: z.string().optional(),
    WorkingDir: z.string().optional(),
  })
  .passthrough();

export const ExecStartSchema = z.object({ Detach: z.boolean().optional(), Tty: z.boolean().optional() }).passthrough();

/** Go type names of the request structs, for json decoding errors in Docker's words. */
const GO_STRUCT = new Map<z.ZodTypeAny, string>([
  [NetworkCreateSchema, 'NetworkCreateRequest'],
  [NetworkConnectSchema, 'NetworkConnect'],
  [NetworkDisconnectSchema, 'NetworkDisconnect'],
  [ContainerCreateSchema, 'ContainerConfigWrapper'],
  [ExecCreateSchema, 'ExecConfig'],
]);

const GO_KIND: Record<string, string> = { string: 'string', number: 'number', integer: 'number', float: 'number', boolean: 'bool', array: 'array', object: 'object' };
const GO_TYPE: Record<string, string> = { string: 'string', number: 'int', boolean: 'bool', array: '[]string', object: 'map[string]string' };

/**
 * Parses with a schema; a mismatch is a 400. A value of the wrong JSON type reads like Go's
 * decoder error (what dockerd answers); a failed rule gives its own message.
 */
export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.join('.');
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received !== 'undefined' && issue.received !== 'null' && GO_STRUCT.has(schema)) {
    throw invalid(`json: cannot unmarshal ${GO_KIND[issue.received] ?? issue.received} into Go struct field ${GO_STRUCT.get(schema)}.${where} of type ${GO_TYPE[issue.expected] ?? issue.expected}`);
  }
  if (issue.code === z.ZodIssueCode.custom && (issue.params as { bare?: boolean } | undefined)?.bare) throw invalid(issue.message);
  throw invalid(where ? `invalid value for ${where}: ${issue.message}` : issue.message);
}

// ---- swarm (POST /swarm/init, /swarm/join, /swarm/update, /nodes/{id}/update)

export const SwarmInitSchema = z
  .object({
    ListenAddr: optStr,
    AdvertiseAddr: optStr,
    DataPathAddr: optStr,
    DataPathPort: z.number().int().nullish().transform((v) => v ?? undefined),
    DefaultAddrPool: z.array(z.string()).nullish().transform((v) => v ?? undefined),
    SubnetSize: z.number().int().nullish().transform((v) => v ?? undefined),
    ForceNewCluster: optBool,
    Spec: z.object({}).passthrough().nullish().transform((v) => v ?? undefined),
  })
  .passthrough();

export const SwarmJoinSchema = z
  .object({
    ListenAddr: optStr,
    AdvertiseAddr: optStr,
    DataPathAddr: optStr,
    RemoteAddrs: z.array(z.string()).nullish().transform((v) => v ?? undefined),
    JoinToken: optStr,
    // The docker CLI sends "" when --availability is not given.
    Availability: z.enum(['active', 'pause', 'drain', '']).nullish().transform((v) => v || undefined),
  })
  .passthrough();

export const SwarmSpecSchema = z.object({ Name: optStr, Labels: nullableStringMap }).passthrough();

export const NodeSpecSchema = z
  .object({
    Name: optStr,
    Labels: nullableStringMap.transform((v) => v ?? undefined),
    Role: optStr,
    Availability: optStr,
  })
  .passthrough();
