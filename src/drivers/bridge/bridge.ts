import type { EndpointRecord, NetworkRecord } from '../../engine/model.js';
import { systemError } from '../../engine/errors.js';
import type { NetworkDriver } from '../driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import { isExists, isGone, type BatchFailure } from '../../kernel/batch.js';
import { combineErrors } from '../../kernel/exec.js';
import { baseTableScript, networkElements, portElements, type NftPort } from '../../kernel/nft.js';
import { bridgeUpLines, joinHostLines, joinSandboxLines, vethName } from './commands.js';
import { bridgeState, configOf, nftNetworkOf, parseBridgeOptions, type BridgeConfig } from './options.js';
import { restoreBridges } from './restore.js';

// Docker's bridge driver on weft's kernel layer. Cost per operation (process spawns):
//   createNetwork: 1 ip batch + 1 nft batch (+ a one-time init: sysctls, table check)
//   join: 1 ip batch in our namespace + 1 ip batch inside the sandbox (+ 1 nft batch with
//         every published port of the endpoint, only when it has some)
//   leave: 1 ip batch (+ 1 nft batch when ports);  deleteNetwork: 1 ip batch + 1 nft batch

export interface BridgeDriverOptions {
  kernel: Kernel;
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly kernel: Kernel;
  private ready: Promise<void> | null = null;
  private ipv6Ready = false;

  constructor(opts: BridgeDriverOptions) {
    this.kernel = opts.kernel;
  }

  prepareNetwork(net: NetworkRecord, existing: NetworkRecord[]): Record<string, string> {
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

  // The ip and nft halves are independent (nft matches interface names, not indexes), so they
  // run concurrently; failures of both are reported together.
  async createNetwork(net: NetworkRecord): Promise<void> {
    const cfg = this.configOrThrow(net);
    await this.init();
    await this.ensureIpv6(net);
    await settleAll(`create network ${net.name}`, [
      this.kernel
        .ipBatch(bridgeUpLines(net, cfg), { force: true })
        .then((failures) => throwUnexpected(`create bridge ${cfg.bridgeName}`, failures, (f) => f.line === 1 && isExists(f))),
      this.kernel.nftApply(networkElements(nftNetworkOf(net, cfg), 'add').join('\n') + '\n'),
    ]);
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const cfg = configOf(net);
    if (!cfg) return; // prepare never ran: nothing of ours exists (and the name may be another's)
    await settleAll(`delete network ${net.name}`, [
      this.kernel
        .ipBatch([`link del ${cfg.bridgeName}`], { force: true })
        .then((failures) => throwUnexpected(`delete bridge ${cfg.bridgeName}`, failures, isGone)),
      this.kernel.nftApply(networkElements(nftNetworkOf(net, cfg), 'delete').join('\n') + '\n'),
    ]);
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void> {
    const cfg = this.configOrThrow(net);
    const host = joinHostLines(cfg, ep, netnsPath);
    try {
      await this.kernel.ipBatch(host);
    } catch (err) {
      // A veth left over from an interrupted join: remove it and try once more.
      if (!/File exists/.test(String((err as Error).message))) throw err;
      await this.removeVeth(vethName(ep));
      await this.kernel.ipBatch(host);
    }
    try {
      await this.kernel.ipBatch(joinSandboxLines(ep, opts.defaultRoute), { netns: netnsPath });
      const ports = nftPortsOf(net, ep);
      if (ports.length) await this.kernel.nftApply(portElements(ports, 'add').join('\n') + '\n');
    } catch (err) {
      await this.removeVeth(vethName(ep)).catch(() => undefined);
      throw err;
    }
  }

  async leave(net: NetworkRecord, ep: EndpointRecord, _netnsPath: string | null): Promise<void> {
    const ports = nftPortsOf(net, ep);
    await settleAll(`leave ${net.name}`, [
      this.removeVeth(vethName(ep)), // the peer inside the sandbox goes with it
      ports.length ? this.kernel.nftApply(portElements(ports, 'delete').join('\n') + '\n') : Promise.resolve(),
    ]);
  }

  restore(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {
    return restoreBridges(this, nets, endpoints);
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
