import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { invalid, systemError } from '../../common/errors.js';
import type { DriverCapabilities, NetworkDriver } from '../driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import { isExists, isGone, type BatchFailure } from '../../kernel/batch.js';
import { combineErrors, ErrorCollector } from '../../common/collect.js';
import { joinSandboxLines } from '../bridge/commands.js';
import { dummyLines, joinHostLines, ownerAlias, shimLines, vlanLines } from './commands.js';
import { configOf, macvlanState, parseMacvlanOptions, vlanPlan, type MacvlanConfig } from './options.js';

// Docker's macvlan driver on weft's kernel layer. No bridge, no veth, no nft: each endpoint is a
// macvlan sub-interface of the parent, made directly inside the sandbox. Like Docker, nothing is
// masqueraded: containers are peers on the parent's segment, and their gateway is a router there.
// Cost per operation (process spawns):
//   join: 1 ip batch in our namespace (create in the sandbox) + 1 ip batch inside the sandbox
//   leave: 1 ip batch inside the sandbox (none when the sandbox is already gone)
//   createNetwork: 1 `ip -json link show` (+ 1 batch for a VLAN/dummy parent or a host shim)
//   deleteNetwork: 0-2 (shim / created parent only)

export interface MacvlanDriverOptions {
  kernel: Kernel;
}

interface LinkInfo {
  ifname: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

const missingModule = (f: { error: string }) => /Unknown device type|Operation not supported|not supported/i.test(f.error);
const WEFT_SHIM = /^mvs-[0-9a-f]{11}$/;
const WEFT_DUMMY = /^dm-[0-9a-f]{12}$/;

export class MacvlanDriver implements NetworkDriver {
  readonly name = 'macvlan';
  // The gateway is the LAN's router, not this host: containers get no listener of ours there.
  readonly capabilities: DriverCapabilities = { scope: 'local', ipam: true, singleton: false, publishesPorts: false, dns: 'names', sandbox: 'interface' };
  readonly kernel: Kernel;

  constructor(opts: MacvlanDriverOptions) {
    this.kernel = opts.kernel;
  }

  async prepareNetwork(net: NetworkRecord, existing: NetworkRecord[]): Promise<Record<string, string>> {
    return macvlanState(parseMacvlanOptions(net, existing));
  }

  async createNetwork(net: NetworkRecord): Promise<void> {
    const cfg = this.configOrThrow(net);
    const links = await this.links();
    await this.ensureParent(net, cfg, links);
    if (cfg.shimName) await this.createShim(net, cfg, links.has(cfg.shimName));
  }

  /** The parent must exist; Docker creates it only for no parent (dummy) and for "<link>.<vlan>". */
  private async ensureParent(net: NetworkRecord, cfg: MacvlanConfig, links: Map<string, LinkInfo>): Promise<void> {
    if (links.has(cfg.parent)) return;
    if (cfg.dummyParent) {
      const failures = await this.kernel.ipBatch(dummyLines(cfg.parent), { force: true });
      if (failures.some((f) => f.line === 1 && missingModule(f))) {
        throw invalid("weft cannot create an internal macvlan network without -o parent: this kernel lacks the 'dummy' module (give -o parent=<interface>)");
      }
      throwUnexpected(`create dummy parent ${cfg.parent}`, failures, (f) => f.line === 1 && isExists(f));
      return;
    }
    const plan = vlanPlan(cfg.parent, (name) => links.has(name));
    const failures = await this.kernel.ipBatch(vlanLines(plan, net.id), { force: true });
    if (failures.length === 0) return;
    const created = !failures.some((f) => f.line === 1);
    if (created) await this.kernel.ipBatch([`link del ${plan.name}`], { force: true }); // nothing half-made
    const first = failures[0]!;
    if (first.line === 1 && missingModule(first)) {
      throw invalid(
        `failed to create ${plan.name} vlan link: this kernel lacks the '8021q' module (802.1q VLANs), so weft cannot create VLAN ${plan.id} on ${plan.link}: ` +
          `load 8021q, or create ${plan.name} yourself, or use an untagged parent`,
      );
    }
    throw systemError(`failed to create ${plan.name} vlan link: ${failures.map((f) => `"${f.command}": ${f.error}`).join('; ')}`);
  }

  private async createShim(net: NetworkRecord, cfg: MacvlanConfig, exists: boolean): Promise<void> {
    const failures = await this.kernel.ipBatch(shimLines(net, cfg, !exists), { force: true });
    const routeClash = failures.find((f) => f.command.startsWith('route add') && isExists(f));
    if (routeClash && !exists) {
      await this.kernel.ipBatch([`link del ${cfg.shimName}`], { force: true });
      throw invalid(
        `host shim: a route for ${routeClash.command.split(' ')[2]} already exists in weft's namespace (the parent's own subnet?): ` +
          'give the network an --ip-range for its containers so that the shim routes only that range',
      );
    }
    // Re-asserting an existing shim: its routes are already there.
    throwUnexpected(`create host shim ${cfg.shimName}`, failures, (f) => exists && isExists(f));
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const cfg = configOf(net);
    if (!cfg) return; // prepare never ran: nothing of ours exists
    const errors: unknown[] = [];
    const lines: string[] = [];
    if (cfg.shimName) lines.push(`link del ${cfg.shimName}`);
    if (cfg.dummyParent) lines.push(`link del ${cfg.parent}`);
    else if (cfg.parent.includes('.')) {
      // A VLAN link is deleted only when weft made it for this network (marked by its alias).
      const own = await this.kernel.ipJson<LinkInfo[]>(['link', 'show', 'dev', cfg.parent]).then(
        (l) => l[0]?.ifalias === ownerAlias(net.id),
        () => false,
      );
      if (own) lines.push(`link del ${cfg.parent}`);
    }
    try {
      throwUnexpected(`delete network ${net.name}`, await this.kernel.ipBatch(lines, { force: true }), isGone);
    } catch (err) {
      errors.push(err);
    }
    const err = combineErrors(`delete network ${net.name}`, errors);
    if (err) throw err;
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void> {
    const cfg = this.configOrThrow(net);
    const host = joinHostLines(cfg, ep, netnsPath);
    try {
      await this.kernel.ipBatch(host);
    } catch (err) {
      const msg = String((err as Error).message);
      if (/Cannot find device/.test(msg)) throw systemError(`the requested parent interface ${cfg.parent} was not found on the Docker host`);
      // An interface left over from an interrupted join: remove it and try once more.
      if (!/File exists/.test(msg)) throw systemError(`failed to create the macvlan port: ${msg}`);
      await this.removeInSandbox(ep, netnsPath);
      await this.kernel.ipBatch(host);
    }
    try {
      await this.kernel.ipBatch(joinSandboxLines(ep, opts.defaultRoute), { netns: netnsPath });
    } catch (err) {
      await this.removeInSandbox(ep, netnsPath).catch(() => undefined);
      throw err;
    }
  }

  async leave(_net: NetworkRecord, ep: EndpointRecord, netnsPath: string | null): Promise<void> {
    // The sub-interface lives only in the sandbox: deleting the namespace deletes it.
    if (!netnsPath || !(await this.kernel.netnsExists(netnsPath))) return;
    await this.removeInSandbox(ep, netnsPath);
  }

  /**
   * Daemon start: one `ip -json -d link show` here, then parents (dummy/VLAN) and shims that are
   * missing are made again, orphaned shims, dummies and weft-made VLANs removed, and endpoints
   * whose sub-interface is gone (a re-created parent loses its children) joined again.
   */
  async restore(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {
    const steps = new ErrorCollector();
    const attempt = (fn: () => Promise<unknown>) => steps.attempt(fn);
    let links = new Map<string, LinkInfo>();
    await attempt(async () => {
      links = await this.links(true);
    });
    const configs = new Map<string, MacvlanConfig>();
    for (const net of nets) {
      const cfg = configOf(net);
      if (cfg) configs.set(net.id, cfg);
    }
    const wantedShims = new Set([...configs.values()].map((c) => c.shimName).filter(Boolean));
    const wantedParents = new Set([...configs.values()].map((c) => c.parent));
    const liveIds = new Set(nets.map((n) => n.id.slice(0, 12)));
    const orphans: string[] = [];
    for (const l of links.values()) {
      const kind = l.linkinfo?.info_kind;
      if (kind === 'macvlan' && WEFT_SHIM.test(l.ifname) && !wantedShims.has(l.ifname)) orphans.push(l.ifname);
      if (kind === 'dummy' && WEFT_DUMMY.test(l.ifname) && !wantedParents.has(l.ifname)) orphans.push(l.ifname);
      const owner = l.ifalias?.startsWith('weft-macvlan:') ? l.ifalias.slice('weft-macvlan:'.length) : '';
      if (kind === 'vlan' && owner && !liveIds.has(owner)) orphans.push(l.ifname);
    }
    if (orphans.length) {
      await attempt(async () => throwUnexpected('restore: remove orphans', await this.kernel.ipBatch(orphans.map((o) => `link del ${o}`), { force: true }), isGone));
    }
    const recreatedParents = new Set<string>();
    for (const net of nets) {
      const cfg = configs.get(net.id);
      if (!cfg) continue;
      await attempt(async () => {
        if (!links.has(cfg.parent)) {
          await this.ensureParent(net, cfg, links);
          recreatedParents.add(net.id);
        }
        if (cfg.shimName) await this.createShim(net, cfg, links.has(cfg.shimName) && !recreatedParents.has(net.id));
      });
    }
    for (const [netId, list] of endpoints) {
      const net = nets.find((n) => n.id === netId);
      if (!net || !configs.has(netId)) continue;
      for (const { ep, netnsPath } of list) {
        await attempt(async () => {
          if (!(await this.kernel.netnsExists(netnsPath))) throw systemError(`restore endpoint ${ep.id}: sandbox ${netnsPath} is gone`);
          const present = !recreatedParents.has(netId) && (await this.kernel.ipJson(['link', 'show', 'dev', ep.ifname], { netns: netnsPath }).then(() => true, () => false));
          if (present) return;
          const routes = await this.kernel.ipJson<unknown[]>(['route', 'show', 'default'], { netns: netnsPath });
          await this.join(net, ep, netnsPath, { defaultRoute: !net.internal && routes.length === 0 });
        });
      }
    }
    steps.throwIfAny('restore macvlan networks');
  }

  private async removeInSandbox(ep: EndpointRecord, netnsPath: string): Promise<void> {
    const failures = await this.kernel.ipBatch([`link del ${ep.ifname}`], { netns: netnsPath, force: true });
    throwUnexpected(`delete ${ep.ifname} in ${netnsPath}`, failures, isGone);
  }

  private async links(details = false): Promise<Map<string, LinkInfo>> {
    const list = await this.kernel.ipJson<LinkInfo[]>(details ? ['-details', 'link', 'show'] : ['link', 'show']);
    return new Map(list.map((l) => [l.ifname, l]));
  }

  configOrThrow(net: NetworkRecord): MacvlanConfig {
    const cfg = configOf(net);
    if (!cfg) throw systemError(`network ${net.name} (${net.id}) has no macvlan state`);
    return cfg;
  }
}

/** Throws one error listing every batch failure that `expected` does not excuse. */
function throwUnexpected(what: string, failures: BatchFailure[], expected: (f: BatchFailure) => boolean): void {
  const bad = failures.filter((f) => !expected(f));
  if (bad.length) throw systemError(`${what}: ${bad.map((f) => `"${f.command}": ${f.error}`).join('; ')}`);
}
