import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { systemError } from '../../common/errors.js';
import type { DriverCapabilities, FirewallCounts, NetworkDriver } from '../driver.js';
import type { Kernel } from '../../kernel/types.js';
import { throwUnexpected } from '../../kernel/base.js';
import { baseTableScript, networkElements, portElements } from '../../kernel/nft.js';
import { nftPortsOf } from './ports.js';
import { bridgeUpSteps, joinHostSteps, leaveSteps, nftSteps, vethDeleteSteps, vethName } from './commands.js';
import { sandboxSteps } from '../plumbing.js';
import { bridgeState, configOf, nftNetworkOf, parseBridgeOptions, type BridgeConfig } from './options.js';
import { reloadBridgeFirewall, restoreBridges } from './restore.js';

export { nftPortsOf };

// Docker's bridge driver on weft's kernel layer, LAZY like Podman's: a network's kernel objects
// (bridge, gateway addresses, nft set elements) are created by the first join of that network,
// not by createNetwork, so creating and removing an unused network touches no kernel object.
// Each operation is ONE kernel plan (one round trip to the agent; on the command path one
// process per tool and namespace in it):
//   createNetwork: none (validation only); predefined/default bridge: realized at once
//   join: host veth + bridge port, the nft elements (the network's when realizing, the
//         endpoint's published ports), then the sandbox side; the join that realizes the network
//         puts the bridge's steps at its head
//   leave: detach (host and sandbox ends, port elements); the veth deletion (an RCU grace
//         period, ~20 ms) follows in the background
//   deleteNetwork: bridge and set elements, only when realized
// Realization is tracked in memory; restore() rebuilds that from the kernel and the endpoints.

export interface BridgeDriverOptions {
  kernel: Kernel;
  /** Called after a network's kernel objects were created (its gateway address now exists). */
  onRealized?: (net: NetworkRecord) => void;
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly capabilities: DriverCapabilities = { scope: 'local', ipam: true, singleton: false, publishesPorts: true, dns: 'listener', sandbox: 'interface' };
  readonly kernel: Kernel;
  private ready: Promise<void> | null = null;
  private ipv6Ready = false;
  /** Networks whose kernel objects are all in place (joins add only the endpoint). */
  private readonly realized = new Set<string>();
  /** Networks that may have kernel objects (realization started, or found at restore). */
  private readonly touched = new Set<string>();
  /** Veth deletions still under way, by host-side name (see leave). */
  private readonly vethDeletions = new Map<string, Promise<void>>();
  /** Realizations in flight, so concurrent first joins of one network realize it once. */
  private readonly realizing = new Map<string, Promise<void>>();
  private readonly realizedListeners = new Set<(net: NetworkRecord) => void>();

  constructor(opts: BridgeDriverOptions) {
    this.kernel = opts.kernel;
    if (opts.onRealized) this.realizedListeners.add(opts.onRealized);
  }

  /**
   * Subscribes to realizations (a network's bridge and gateway address just appeared, e.g. for
   * the embedded DNS to bind there). Returns the unsubscribe function.
   */
  onRealized(listener: (net: NetworkRecord) => void): () => void {
    this.realizedListeners.add(listener);
    return () => this.realizedListeners.delete(listener);
  }

  /** Whether the network's kernel objects exist (as far as this daemon knows). */
  isRealized(netId: string): boolean {
    return this.realized.has(netId);
  }

  /** Whether the network may have kernel objects (realized, being realized, or found at restore). */
  hasKernelObjects(netId: string): boolean {
    return this.touched.has(netId);
  }

  /** restore(): these networks' kernel objects were found or re-created (complete: all in place). */
  markRealized(netId: string, complete: boolean): void {
    this.touched.add(netId);
    if (complete) this.realized.add(netId);
  }

  private announce(net: NetworkRecord): void {
    for (const l of this.realizedListeners) {
      try {
        l(net);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  async prepareNetwork(net: NetworkRecord, existing: NetworkRecord[]): Promise<Record<string, string>> {
    return bridgeState(parseBridgeOptions(net, existing));
  }

  /** One-time setup: forwarding + bridge netfilter sysctls, and the nft table if absent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await this.setSysctls();
      const present = await this.kernel.nftList(['list', 'set', 'inet', 'weft', 'bridges']).then(
        () => true,
        () => false,
      );
      if (!present) await this.kernel.nftApply(baseTableScript());
    })().catch((err) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /** restore() rebuilt the table: later creates need no check. */
  markInitialized(): void {
    this.ready = Promise.resolve();
  }

  async setSysctls(): Promise<void> {
    // route_localnet: a published port reached from the host as 127.0.0.1 is DNAT'd to a
    // container and masqueraded; without it the kernel drops 127/8 sources off lo (the nft
    // table's guard chain keeps other machines from using that to reach 127.0.0.1 bindings).
    await this.kernel.sysctls({ 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.route_localnet': '1' });
    // Makes traffic between two ports of one bridge visible to the forward hook (for icc=false).
    await this.kernel.sysctls(
      { 'net.bridge.bridge-nf-call-iptables': '1', 'net.bridge.bridge-nf-call-ip6tables': '1' },
      { optional: true },
    );
  }

  private async ensureIpv6(net: NetworkRecord): Promise<void> {
    if (this.ipv6Ready || !net.enableIPv6 || !net.ipam.config.some((c) => c.Subnet.includes(':'))) return;
    await this.kernel.sysctls({ 'net.ipv6.conf.all.forwarding': '1' });
    this.ipv6Ready = true;
  }

  /**
   * Lazy: validates, and creates nothing (the first join does). The predefined default bridge is
   * realized at once, as Docker's docker0 is (the host reaches its gateway without containers).
   */
  async createNetwork(net: NetworkRecord): Promise<void> {
    const cfg = this.configOrThrow(net);
    if (net.predefined || cfg.defaultBridge) await this.realizeNow(net, cfg);
  }

  private async realizeNow(net: NetworkRecord, cfg: BridgeConfig): Promise<void> {
    this.touched.add(net.id);
    await this.init();
    await this.ensureIpv6(net);
    const plan = [...bridgeUpSteps(net, cfg), ...nftSteps(networkElements(nftNetworkOf(net, cfg), 'add'))];
    throwUnexpected(`create network ${net.name}`, await this.kernel.apply(plan, { force: true }));
    this.realized.add(net.id);
    this.announce(net);
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const cfg = configOf(net);
    if (!cfg) return; // prepare never ran: nothing of ours exists (and the name may be another's)
    await Promise.all(this.vethDeletions.values()); // no port of it is left half-deleted
    await this.realizing.get(net.id)?.catch(() => undefined);
    if (!this.touched.has(net.id)) return; // never realized: no kernel object to remove
    this.realized.delete(net.id);
    const plan = [{ op: 'link.del', name: cfg.bridgeName, tolerate: 'gone' } as const, ...nftSteps(networkElements(nftNetworkOf(net, cfg), 'delete'))];
    throwUnexpected(`delete network ${net.name}`, await this.kernel.apply(plan, { force: true }));
    this.touched.delete(net.id); // kept when deleting failed: a retry must try again
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void> {
    const cfg = this.configOrThrow(net);
    for (let p = this.realizing.get(net.id); p; p = this.realizing.get(net.id)) await p.catch(() => undefined);
    if (this.realized.has(net.id)) return this.joinEndpoint(net, cfg, ep, netnsPath, opts, false);
    let done!: () => void;
    this.realizing.set(net.id, new Promise<void>((resolve) => (done = resolve)));
    try {
      this.touched.add(net.id);
      await this.init();
      await this.ensureIpv6(net);
      await this.joinEndpoint(net, cfg, ep, netnsPath, opts, true);
      this.realized.add(net.id);
    } finally {
      this.realizing.delete(net.id);
      done();
    }
    this.announce(net);
  }

  /**
   * One plan: the bridge's steps when realizing, the host veth, the nft elements (the network's
   * when realizing, the endpoint's published ports), then the sandbox side; the nft elements are
   * in place before the container's interface comes up. A failure undoes the endpoint's part.
   */
  private async joinEndpoint(
    net: NetworkRecord,
    cfg: BridgeConfig,
    ep: EndpointRecord,
    netnsPath: string,
    opts: { defaultRoute: boolean },
    realize: boolean,
  ): Promise<void> {
    const ports = nftPortsOf(net, ep);
    const nft = [...(realize ? networkElements(nftNetworkOf(net, cfg), 'add') : []), ...portElements(ports, 'add')];
    const plan = [
      ...(realize ? bridgeUpSteps(net, cfg) : []),
      ...joinHostSteps(cfg, ep, netnsPath),
      ...nftSteps(nft),
      ...sandboxSteps(ep, opts.defaultRoute, netnsPath),
    ];
    try {
      await this.kernel.apply(plan);
    } catch (err) {
      // Port elements are deleted idempotently (add + delete), so whether their step ran or not.
      const undo = [...vethDeleteSteps(vethName(ep)), ...nftSteps(portElements(ports, 'delete'))];
      await this.kernel.apply(undo, { force: true }).catch(() => undefined);
      throw systemError(`join ${net.name}: ${(err as Error).message}`);
    }
  }

  /**
   * Cuts the endpoint off at once (leaveSteps) and removes its published ports, in one plan.
   * Deleting the veth pair costs the kernel an RCU grace period (~20 ms), so that finishes in the
   * background; a crash before it ends leaves a stray veth that restore() removes.
   */
  async leave(net: NetworkRecord, ep: EndpointRecord, netnsPath: string | null): Promise<void> {
    const veth = vethName(ep);
    const plan = [...leaveSteps(ep, netnsPath), ...nftSteps(portElements(nftPortsOf(net, ep), 'delete'))];
    throwUnexpected(`leave ${net.name}`, await this.kernel.apply(plan, { force: true }));
    const deletion = Promise.all(this.vethDeletions.values())
      .then(() => this.kernel.apply(vethDeleteSteps(veth), { background: true })) // the peer inside the sandbox goes with it
      .then(() => undefined, () => undefined)
      .finally(() => this.vethDeletions.delete(veth));
    this.vethDeletions.set(veth, deletion);
  }

  restore(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {
    return restoreBridges(this, nets, endpoints);
  }

  reloadFirewall(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<FirewallCounts> {
    return reloadBridgeFirewall(this, nets, endpoints);
  }

  configOrThrow(net: NetworkRecord): BridgeConfig {
    const cfg = configOf(net);
    if (!cfg) throw systemError(`network ${net.name} (${net.id}) has no bridge state`);
    return cfg;
  }
}
