// What weft asks of the kernel, as data: a plan is a list of typed steps, each run in a network
// namespace (its `ns` path; absent = the kernel's own, i.e. the daemon's). Two backends run plans
// (the kernel agent, one long-lived process speaking netlink and libnftables; and the command
// path, `ip -batch` / `nft -f` processes); drivers build plans with pure functions and never see
// which one runs them.

/** Failures a step may meet without failing its plan: already there, already gone, anything. */
export type Tolerance = 'exists' | 'gone' | 'any';

interface On {
  /** Namespace path the step runs in; absent = the kernel's own. */
  ns?: string;
  tolerate?: Tolerance | Tolerance[];
}

export type LinkKind = 'veth' | 'bridge' | 'vxlan' | 'macvlan' | 'vlan' | 'dummy';
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru' | 'source';

export interface LinkAdd extends On {
  op: 'link.add';
  name: string;
  kind: LinkKind;
  mtu?: number;
  mac?: string;
  up?: boolean;
  master?: string;
  /** Create the link straight into this namespace (macvlan into a sandbox). */
  netns?: string;
  /** The lower device: macvlan/vlan parent, vxlan underlay device. */
  parent?: string;
  /** veth: the other end, optionally placed in a namespace under its final name. */
  peer?: { name: string; netns?: string; mac?: string; mtu?: number };
  mode?: MacvlanMode;
  vlanId?: number;
  /** proxy: the device answers ARP from its neighbour table (remote endpoints are static entries there). */
  vxlan?: { vni: number; local?: string; remote?: string; port?: number; learning?: boolean; ttl?: number; proxy?: boolean };
}

export interface LinkSet extends On {
  op: 'link.set';
  name: string;
  up?: boolean;
  /** A bridge to enslave to; null = nomaster. */
  master?: string | null;
  mtu?: number;
  mac?: string;
  rename?: string;
  alias?: string;
  /** Move into this namespace. */
  netns?: string;
  /** Bridge port hairpin mode (set after everything else, as a separate message). */
  hairpin?: boolean;
}

export interface LinkDel extends On {
  op: 'link.del';
  name: string;
}

export interface AddrStep extends On {
  op: 'addr.add' | 'addr.replace' | 'addr.del';
  dev: string;
  /** "10.1.0.1/24", "fd00::1/64". */
  cidr: string;
  /** IPv4 broadcast derived from the prefix (`brd +`). */
  broadcast?: boolean;
  nodad?: boolean;
  noprefixroute?: boolean;
}

export interface RouteStep extends On {
  op: 'route.add' | 'route.replace' | 'route.del';
  /** "default" or a CIDR. */
  dst: string;
  via?: string;
  dev?: string;
  src?: string;
  metric?: number;
  /** For "default" without `via`. */
  family?: 4 | 6;
}

export interface NeighStep extends On {
  op: 'neigh.replace' | 'neigh.del';
  dev: string;
  ip: string;
  mac?: string;
}

export interface FdbStep extends On {
  op: 'fdb.append' | 'fdb.replace' | 'fdb.del';
  dev: string;
  mac: string;
  /** Remote VTEP of a vxlan entry. */
  dst?: string;
  /** The entry goes to the bridge the device is a port of (NTF_MASTER) instead of the device itself. */
  master?: boolean;
}

export interface SysctlStep extends On {
  op: 'sysctl';
  /** Dotted: net.ipv4.ip_forward. */
  key: string;
  value: string;
}

export interface NetnsStep {
  op: 'netns.create' | 'netns.delete';
  path: string;
  tolerate?: Tolerance | Tolerance[];
}

export interface NftStep {
  op: 'nft.apply' | 'nft.check';
  /** nft script text (`nft -f` syntax); one transaction. */
  script: string;
  tolerate?: Tolerance | Tolerance[];
}

export type Step = LinkAdd | LinkSet | LinkDel | AddrStep | RouteStep | NeighStep | FdbStep | SysctlStep | NetnsStep | NftStep;

/** A step the kernel refused, with its errno name (EEXIST, ENODEV...) and the kernel's message. */
export interface StepFailure {
  index: number;
  step: Step;
  code: string;
  message: string;
}

export interface ApplyOptions {
  /** Keep going past failures and return them (as `ip -force`); otherwise the first one throws. */
  force?: boolean;
  /** Slow work nothing waits for (link deletions): the agent runs it beside the foreground. */
  background?: boolean;
}

export interface LinkInfo {
  name: string;
  index: number;
  /** veth, bridge, macvlan... ('' for plain devices such as lo). */
  kind: string;
  /** Name of the bridge (or other master) this link is a port of. */
  master?: string;
  alias?: string;
  mtu: number;
  mac: string;
  up: boolean;
}

export interface RouteInfo {
  /** "default" or a CIDR (host routes with /32 or /128). */
  dst: string;
  dev?: string;
  gateway?: string;
}

export type KernelBackend = 'agent' | 'commands';

export interface Kernel {
  readonly backend: KernelBackend;
  /**
   * The process name (the kernel's comm) weft's nftables changes are committed under, so that a
   * watch of the ruleset tells them from anybody else's (firewall-watch.ts).
   */
  readonly nftWriter: string;
  /** The namespace this kernel works in when a step names none (tests pass a throwaway one). */
  readonly netns: string | undefined;
  /** Runs a plan in order; see ApplyOptions. Tolerated failures are not returned. */
  apply(steps: Step[], opts?: ApplyOptions): Promise<StepFailure[]>;
  links(opts?: { ns?: string }): Promise<LinkInfo[]>;
  /** One link by name; null when there is none. */
  link(name: string, opts?: { ns?: string }): Promise<LinkInfo | null>;
  /** Routes of the main table. */
  routes(family: 4 | 6, opts?: { ns?: string }): Promise<RouteInfo[]>;
  nftApply(script: string): Promise<void>;
  nftCheck(script: string): Promise<void>;
  /** `nft -j <args>` (e.g. ['list', 'set', 'inet', 'weft', 'bridges']): the "nftables" array. */
  nftList(args: string[]): Promise<Record<string, any>[]>;
  /** Sets sysctls; optional: keys the kernel lacks are skipped. */
  sysctls(entries: Record<string, string>, opts?: { optional?: boolean; ns?: string }): Promise<void>;
  /** Creates a namespace bound at path with lo up; an existing one is kept. */
  createNetns(path: string): Promise<void>;
  /** Unbinds and removes it; fine when already gone. */
  deleteNetns(path: string): Promise<void>;
  netnsExists(path: string): Promise<boolean>;
  /** Ends what the backend holds (the agent process). */
  close(): Promise<void>;
}

const GONE = new Set(['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL']);

/** "Already there" (for an add). */
export const isExists = (f: { code: string }) => f.code === 'EEXIST';

/** "Already gone" (for a delete): no such device, entry, route or address. */
export const isGone = (f: { code: string }) => GONE.has(f.code);

export function tolerances(step: { tolerate?: Tolerance | Tolerance[] }): Tolerance[] {
  const t = step.tolerate;
  return t === undefined ? [] : Array.isArray(t) ? t : [t];
}

/** Whether the step's tolerance excuses a failure with this errno name. */
export function excused(step: Step, code: string): boolean {
  const t = tolerances(step);
  return t.includes('any') || (t.includes('exists') && code === 'EEXIST') || (t.includes('gone') && GONE.has(code));
}
