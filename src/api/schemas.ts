import { z } from 'zod';
import { invalid } from '../engine/errors.js';

// Request bodies, validated at the edge (shapes from Docker's Engine API spec). Handlers get
// typed values; unknown keys pass through as Docker ignores them.

const stringMap = z.record(z.string(), z.string());
const nullableStringMap = stringMap.nullish();

export const IpamPoolSchema = z
  .object({
    Subnet: z.string().optional(),
    IPRange: z.string().optional(),
    Gateway: z.string().optional(),
    AuxiliaryAddresses: nullableStringMap,
  })
  .passthrough();

export const NetworkCreateSchema = z
  .object({
    Name: z.string({ required_error: 'network name must not be empty' }),
    CheckDuplicate: z.boolean().optional(),
    Driver: z.string().optional(),
    Scope: z.string().optional(),
    Internal: z.boolean().optional(),
    Attachable: z.boolean().optional(),
    Ingress: z.boolean().optional(),
    ConfigOnly: z.boolean().optional(),
    ConfigFrom: z.object({ Network: z.string().optional() }).nullish(),
    EnableIPv6: z.boolean().nullish(),
    IPAM: z
      .object({ Driver: z.string().optional(), Config: z.array(IpamPoolSchema).nullish(), Options: nullableStringMap })
      .nullish(),
    Options: nullableStringMap,
    Labels: nullableStringMap,
  })
  .passthrough();

export const EndpointSettingsSchema = z
  .object({
    IPAMConfig: z
      .object({ IPv4Address: z.string().optional(), IPv6Address: z.string().optional(), LinkLocalIPs: z.array(z.string()).nullish() })
      .nullish(),
    Links: z.array(z.string()).nullish(),
    Aliases: z.array(z.string()).nullish(),
    DriverOpts: nullableStringMap,
    MacAddress: z.string().optional(),
  })
  .passthrough();

export const NetworkConnectSchema = z.object({ Container: z.string(), EndpointConfig: EndpointSettingsSchema.nullish() }).passthrough();
export const NetworkDisconnectSchema = z.object({ Container: z.string(), Force: z.boolean().optional() }).passthrough();

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

/** Parses with a schema; a mismatch is a 400 naming the field, as Docker's decoder errors do. */
export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.join('.');
  throw invalid(where ? `invalid value for ${where}: ${issue.message}` : issue.message);
}
