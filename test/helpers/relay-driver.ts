import { invalid, systemError } from '../../src/common/errors.js';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import type { DriverCapabilities, NetworkDriver } from '../../src/drivers/driver.js';
import { plumbSteps } from '../../src/drivers/plumbing.js';
import { throwUnexpected } from '../../src/kernel/base.js';
import type { Kernel, Step } from '../../src/kernel/types.js';

// A network driver that exists in test code only, registered at run time (relay-weftd.ts), built
// the way a remote plugin would be: its own Linux bridge per network, its own nftables table for
// published ports, and each endpoint's interface made in the daemon's namespace and then MOVED
// into the sandbox through the shared plumbing (src/drivers/plumbing.ts). The engine has never
// heard of it: whatever it gets (IPAM pools, joins with addresses and a default route, host
// ports to publish, embedded DNS on its gateway) it gets from its capabilities alone.
// Restore only re-asserts bridges and the table (joins made before a restart are not redone).

const TABLE = 'inet relay';

export const RELAY_CAPABILITIES: DriverCapabilities = { scope: 'local', ipam: true, singleton: false, publishesPorts: true, dns: 'listener', sandbox: 'interface' };

/** Kernel names: the network's bridge, and an endpoint's host end and (until moved) its peer. */
export const relayBridge = (net: { id: string }) => `rl-${net.id.slice(0, 10)}`;
export const relayHostEnd = (ep: { id: string }) => `rv${ep.id.slice(0, 9)}`;
const relayPeer = (ep: { id: string }) => `rp${ep.id.slice(0, 9)}`;

function baseTable(): string {
  const lines = [`add table ${TABLE}`, `add map ${TABLE} pub4 { type inet_proto . inet_service : ipv4_addr . inet_service; }`];
  const hooks: [string, string][] = [
    ['prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
    ['output', 'type nat hook output priority -100; policy accept;'],
  ];
  for (const [chain, spec] of hooks) {
    lines.push(`add chain ${TABLE} ${chain} { ${spec} }`, `flush chain ${TABLE} ${chain}`);
    lines.push(`add rule ${TABLE} ${chain} fib daddr type local dnat ip to meta l4proto . th dport map @pub4`);
  }
  // 127.0.0.1 -> a container: the container could not answer a loopback source.
  lines.push(`add chain ${TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }`, `flush chain ${TABLE} postrouting`);
  lines.push(`add rule ${TABLE} postrouting ip saddr 127.0.0.0/8 oifname "rl-*" masquerade`);
  return lines.join('\n') + '\n';
}

/** Map elements of the endpoint's IPv4 published ports; deletion is idempotent (add, then delete). */
function portScript(ep: EndpointRecord, add: boolean): string {
  const ip = ep.ipv4.split('/')[0];
  const elems = (ep.ports ?? []).filter((p) => ip && !p.hostIp.includes(':')).map((p) => `${p.proto} . ${p.hostPort} : ${ip} . ${p.containerPort}`);
  if (!elems.length) return '';
  const set = `${TABLE} pub4 { ${elems.join(', ')} }`;
  return add ? `add element ${set}\n` : `add element ${set}\ndelete element ${set}\n`;
}

export class RelayDriver implements NetworkDriver {
  readonly name = 'relay';
  readonly capabilities = RELAY_CAPABILITIES;
  /** What the driver was asked, for the test to compare with what the kernel shows. */
  readonly joins: { network: string; ifname: string; defaultRoute: boolean; ports: number }[] = [];
  private table: Promise<void> | null = null;

  constructor(private readonly kernel: Kernel) {}

  async prepareNetwork(net: NetworkRecord): Promise<Record<string, string>> {
    const unknown = Object.keys(net.options ?? {});
    if (unknown.length) throw invalid(`relay network does not support driver options: ${unknown.sort().join(', ')}`);
    if (!net.ipam.config.some((c) => c.Gateway && !c.Subnet.includes(':'))) throw invalid('relay networks need an IPv4 pool with a gateway');
    return { bridge: relayBridge(net) };
  }

  private ensureTable(): Promise<void> {
    this.table ??= this.kernel.nftApply(baseTable()).catch((err: unknown) => {
      this.table = null;
      throw err;
    });
    return this.table;
  }

  /** Eager, unlike the bridge driver: the bridge and its gateway exist from create on (DNS binds there at once). */
  async createNetwork(net: NetworkRecord): Promise<void> {
    await this.ensureTable();
    const br = relayBridge(net);
    const steps: Step[] = [
      { op: 'link.add', name: br, kind: 'bridge', tolerate: 'exists' },
      { op: 'link.set', name: br, up: true },
    ];
    for (const p of net.ipam.config) {
      if (p.Gateway && !p.Subnet.includes(':')) steps.push({ op: 'addr.replace', dev: br, cidr: `${p.Gateway}/${p.Subnet.split('/')[1]}`, broadcast: true });
    }
    throwUnexpected(`relay: create ${net.name}`, await this.kernel.apply(steps, { force: true }));
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    throwUnexpected(`relay: delete ${net.name}`, await this.kernel.apply([{ op: 'link.del', name: relayBridge(net), tolerate: 'gone' }], { force: true }));
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void> {
    const host = relayHostEnd(ep);
    const peer = relayPeer(ep);
    const ports = portScript(ep, true);
    const plan: Step[] = [
      { op: 'link.del', name: host, tolerate: 'gone' },
      // Both ends here first, as a plugin hands the daemon an interface of its own making.
      { op: 'link.add', name: host, kind: 'veth', peer: { name: peer } },
      { op: 'link.set', name: host, master: relayBridge(net), up: true },
      ...(ports ? [{ op: 'nft.apply', script: ports } as const] : []),
      ...plumbSteps(ep, netnsPath, { via: 'move', name: peer }, opts),
    ];
    try {
      await this.kernel.apply(plan);
    } catch (err) {
      await this.undo(ep);
      throw systemError(`relay: join ${net.name}: ${(err as Error).message}`);
    }
    this.joins.push({ network: net.name, ifname: ep.ifname, defaultRoute: opts.defaultRoute, ports: ep.ports?.length ?? 0 });
  }

  async leave(_net: NetworkRecord, ep: EndpointRecord): Promise<void> {
    throwUnexpected(`relay: leave ${ep.id}`, await this.undo(ep));
  }

  /** The host end goes (its peer in the sandbox with it) and the endpoint's ports. */
  private undo(ep: EndpointRecord) {
    const ports = portScript(ep, false);
    return this.kernel.apply([{ op: 'link.del', name: relayHostEnd(ep), tolerate: 'gone' }, ...(ports ? [{ op: 'nft.apply', script: ports } as const] : [])], { force: true });
  }

  async restore(nets: NetworkRecord[]): Promise<void> {
    for (const net of nets) await this.createNetwork(net);
  }
}
