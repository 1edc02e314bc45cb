import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { systemError } from '../../common/errors.js';
import type { DriverCapabilities, FirewallCounts, NetworkDriver } from '../driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import { isExists, isGone, type BatchFailure } from '../../kernel/batch.js';
import { combineErrors } from '../../common/collect.js';
import { baseTableScript, networkElements, portElements, type NftPort } from '../../kernel/nft.js';
import { bridgeUpLines, joinHostLines, joinSandboxLines, vethName } from './commands.js';
import { bridgeState, configOf, nftNetworkOf, parseBridgeOptions, type BridgeConfig } from './options.js';
import { reloadBridgeFirewall, restoreBridges } from './restore.js';

// Docker's bridge driver on weft's kernel layer, LAZY like Podman's: a network's kernel objects
// (bridge, gateway addresses, nft set elements) are created by the first join of that network,
// not by createNetwork, so creating and removing an unused network touches no kernel object.
// Cost per operation (process spawns):
//   createNetwork: none (validation only); predefined/default bridge: realized at once
//   join: 1 ip batch in our namespace + 1 ip batch inside the sandbox (+ 1 nft batch with
//         every published port of the endpoint, only when it has some). The join that realizes
//         the network puts the bridge lines at the head of the first batch and its set elements
//         in the nft batch: at most one extra spawn (none when the endpoint publishes ports).
//   leave: 1 ip batch (+ 1 nft batch when ports)
//   deleteNetwork: 1 ip batch + 1 nft batch when realized, nothing otherwise
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
  /** Realizations in flight, so concurrent first joins of one network realize it once. */
  /** Veth deletions still under way, by host-side name (see leave). */
  private readonly vethDeletions = new Map<string, Promise<void>>();
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
      const present = await this.kernel.nftJson(['list', 'set', 'inet', 'weft', 'bridges']).then(
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

  // The ip and nft halves are independent (nft matches interface names, not indexes), so they
  // run concurrently; failures of both are reported together.
  private async realizeNow(net: NetworkRecord, cfg: BridgeConfig): Promise<void> {
    this.touched.add(net.id);
    await this.init();
    await this.ensureIpv6(net);
    await settleAll(`create network ${net.name}`, [
      this.kernel
        .ipBatch(bridgeUpLines(net, cfg), { force: true })
        .then((failures) => throwUnexpected(`create bridge ${cfg.bridgeName}`, failures, (f) => f.line === 1 && isExists(f))),
      this.kernel.nftApply(networkElements(nftNetworkOf(net, cfg), 'add').join('\n') + '\n'),
    ]);
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
    await settleAll(`delete network ${net.name}`, [
      this.kernel
        .ipBatch([`link del ${cfg.bridgeName}`], { force: true })
        .then((failures) => throwUnexpected(`delete bridge ${cfg.bridgeName}`, failures, isGone)),
      this.kernel.nftApply(networkElements(nftNetworkOf(net, cfg), 'delete').join('\n') + '\n'),
    ]);
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
   * Host batch (headed by the bridge's lines when realizing) concurrently with one nft batch (the
   * network's set elements when realizing, the endpoint's published ports), then the sandbox
   * batch. The nft elements are in place before the container's interface comes up.
   */
  private async joinEndpoint(
    net: NetworkRecord,
    cfg: BridgeConfig,
    ep: EndpointRecord,
    netnsPath: string,
    opts: { defaultRoute: boolean },
    realize: boolean,
  ): Promise<void> {
    const veth = vethName(ep);
    const bridge = realize ? bridgeUpLines(net, cfg) : [];
    const host = [...bridge, ...joinHostLines(cfg, ep, netnsPath)];
    const ports = nftPortsOf(net, ep);
    const nft = [...(realize ? networkElements(nftNetworkOf(net, cfg), 'add') : []), ...portElements(ports, 'add')];
    const [ipRes, nftRes] = await Promise.allSettled([
      this.hostBatch(host, bridge.length, veth, cfg.bridgeName),
      nft.length ? this.kernel.nftApply(nft.join('\n') + '\n') : Promise.resolve(),
    ]);
    const undo = async () => {
      await this.removeVeth(veth).catch(() => undefined);
      if (ports.length && nftRes.status === 'fulfilled') await this.kernel.nftApply(portElements(ports, 'delete').join('\n') + '\n').catch(() => undefined);
    };
    if (ipRes.status === 'rejected' || nftRes.status === 'rejected') {
      await undo();
      throw combineErrors(`join ${net.name}`, [ipRes, nftRes].flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])))!;
    }
    try {
      await this.kernel.ipBatch(joinSandboxLines(ep, opts.defaultRoute), { netns: netnsPath });
    } catch (err) {
      await undo();
      throw err;
    }
  }

  /** Runs the host lines; a veth left over from an interrupted join is removed and the lines run once more. */
  private async hostBatch(lines: string[], bridgeLines: number, veth: string, bridgeName: string): Promise<void> {
    if (bridgeLines === 0) {
      try {
        await this.kernel.ipBatch(lines);
      } catch (err) {
        if (!/File exists/.test(String((err as Error).message))) throw err;
        await this.removeVeth(veth);
        await this.kernel.ipBatch(lines);
      }
      return;
    }
    // Realizing: -force, so an existing bridge (line 1, "File exists") is brought in line by the
    // lines after it instead of aborting the batch.
    const bridgeExists = (f: BatchFailure) => f.line === 1 && isExists(f);
    let failures = await this.kernel.ipBatch(lines, { force: true });
    if (failures.some((f) => f.line === bridgeLines + 1 && isExists(f))) {
      await this.removeVeth(veth);
      failures = await this.kernel.ipBatch(lines, { force: true });
    }
    throwUnexpected(`create bridge ${bridgeName} and join`, failures, bridgeExists);
  }

  /**
   * Cuts the endpoint off at once: the host end goes down and out of the bridge, the container
   * end down and out of the way of its name (eth1 may be reused by the next connect). Deleting the
   * veth pair costs the kernel an RCU grace period (~20 ms), so that finishes in the background;
   * a crash before it ends leaves a stray veth that restore() removes.
   */
  async leave(net: NetworkRecord, ep: EndpointRecord, netnsPath: string | null): Promise<void> {
    const ports = nftPortsOf(net, ep);
    const veth = vethName(ep);
    const parked = `z${veth.slice(4)}`; // same length as the veth name, unique per endpoint
    await settleAll(`leave ${net.name}`, [
      this.kernel.ipBatch([`link set ${veth} down nomaster`], { force: true }).then((f) => throwUnexpected(`detach ${veth}`, f, isGone)),
      netnsPath && ep.ifname ? this.kernel.ipBatch([`link set ${ep.ifname} down`, `link set ${ep.ifname} name ${parked}`], { netns: netnsPath, force: true }).then(() => undefined, () => undefined) : Promise.resolve(), // best effort: the peer goes with the veth anyway
      ports.length ? this.kernel.nftApply(portElements(ports, 'delete').join('\n') + '\n') : Promise.resolve(),
    ]);
    const deletion = Promise.all(this.vethDeletions.values())
      .then(() => this.removeVeth(veth)) // the peer inside the sandbox goes with it
      .catch(() => undefined)
      .finally(() => this.vethDeletions.delete(veth));
    this.vethDeletions.set(veth, deletion);
  }

  restore(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {
    return restoreBridges(this, nets, endpoints);
  }

  reloadFirewall(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<FirewallCounts> {
    return reloadBridgeFirewall(this, nets, endpoints);
  }

  private async removeVeth(name: string): Promise<void> {
    const failures = await this.kernel.ipBatch([`link del ${name}`], { force: true });
    throwUnexpected(`delete ${name}`, failures, isGone);
  }

  configOrThrow(net: NetworkRecord): BridgeConfig {
    const cfg = configOf(net);
    if (!cfg) throw systemError(`network ${net.name} (${net.id}) has no bridge state`);
    return cfg;
  }
}

/** The nft view of an endpoint's published ports (none on internal networks, as in Docker). */
export function nftPortsOf(net: NetworkRecord, ep: EndpointRecord): NftPort[] {
  if (net.internal) return [];
  const out: NftPort[] = [];
  for (const p of ep.ports ?? []) {
    const containerIp = (p.hostIp.includes(':') ? ep.ipv6 : ep.ipv4).split('/')[0];
    if (containerIp) out.push({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp, containerPort: p.containerPort });
  }
  return out;
}

/** Waits for every promise, then throws all their errors as one. */
async function settleAll(what: string, work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const err = combineErrors(what, results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])));
  if (err) throw err;
}

/** Throws one error listing every batch failure that `expected` does not excuse. */
export function throwUnexpected(what: string, failures: BatchFailure[], expected: (f: BatchFailure) => boolean): void {
  const bad = failures.filter((f) => !expected(f));
  if (bad.length) throw systemError(`${what}: ${bad.map((f) => `"${f.command}": ${f.error}`).join('; ')}`);
}
