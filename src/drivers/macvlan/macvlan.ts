import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { invalid, systemError } from '../../common/errors.js';
import type { DriverCapabilities, NetworkDriver } from '../driver.js';
import { ErrorCollector } from '../../common/collect.js';
import { PlanError, throwUnexpected } from '../../kernel/base.js';
import { isExists, type Kernel, type LinkInfo, type Step, type StepFailure } from '../../kernel/types.js';
import { removeSteps, sandboxSteps } from '../plumbing.js';
import { dummySteps, joinHostSteps, ownerAlias, shimSteps, vlanSteps } from './commands.js';
import { configOf, macvlanState, parseMacvlanOptions, vlanPlan, type MacvlanConfig } from './options.js';

// Docker's macvlan driver on weft's kernel layer. No bridge, no veth, no nft: each endpoint is a
// macvlan sub-interface of the parent, made directly inside the sandbox. Like Docker, nothing is
// masqueraded: containers are peers on the parent's segment, and their gateway is a router there.
// Cost per operation (kernel round trips; on the command path, processes):
//   join: 1 plan (create in the sandbox from our namespace, then configure it inside)
//   leave: 1 (none when the sandbox is already gone)
//   createNetwork: 1 link listing (+ 1 plan for a VLAN/dummy parent or a host shim)
//   deleteNetwork: 0-2 (shim / created parent only)

export interface MacvlanDriverOptions {
  kernel: Kernel;
}

/** The kernel has no module for the link kind ("Unknown device type"). */
const missingModule = (f: StepFailure) => f.code === 'EOPNOTSUPP' || f.code === 'ENOTSUP';
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
      const failures = await this.kernel.apply(dummySteps(cfg.parent), { force: true });
      if (failures.some((f) => f.index === 0 && missingModule(f))) {
        throw invalid("weft cannot create an internal macvlan network without -o parent: this kernel lacks the 'dummy' module (give -o parent=<interface>)");
      }
      throwUnexpected(`create dummy parent ${cfg.parent}`, failures);
      return;
    }
    const plan = vlanPlan(cfg.parent, (name) => links.has(name));
    const failures = await this.kernel.apply(vlanSteps(plan, net.id), { force: true });
    if (failures.length === 0) return;
    const created = !failures.some((f) => f.index === 0);
    if (created) await this.kernel.apply([{ op: 'link.del', name: plan.name, tolerate: 'gone' }], { force: true }); // nothing half-made
    const first = failures[0]!;
    if (first.index === 0 && missingModule(first)) {
      throw invalid(
        `failed to create ${plan.name} vlan link: this kernel lacks the '8021q' module (802.1q VLANs), so weft cannot create VLAN ${plan.id} on ${plan.link}: ` +
          `load 8021q, or create ${plan.name} yourself, or use an untagged parent`,
      );
    }
    throwUnexpected(`failed to create ${plan.name} vlan link`, failures);
  }

  private async createShim(net: NetworkRecord, cfg: MacvlanConfig, exists: boolean): Promise<void> {
    const failures = await this.kernel.apply(shimSteps(net, cfg, !exists), { force: true });
    const routeClash = failures.find((f) => f.step.op === 'route.add' && isExists(f));
    if (routeClash && routeClash.step.op === 'route.add') {
      await this.kernel.apply([{ op: 'link.del', name: cfg.shimName, tolerate: 'gone' }], { force: true });
      throw invalid(
        `host shim: a route for ${routeClash.step.dst} already exists in weft's namespace (the parent's own subnet?): ` +
          'give the network an --ip-range for its containers so that the shim routes only that range',
      );
    }
    throwUnexpected(`create host shim ${cfg.shimName}`, failures);
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const cfg = configOf(net);
    if (!cfg) return; // prepare never ran: nothing of ours exists
    const steps: Step[] = [];
    if (cfg.shimName) steps.push({ op: 'link.del', name: cfg.shimName, tolerate: 'gone' });
    if (cfg.dummyParent) steps.push({ op: 'link.del', name: cfg.parent, tolerate: 'gone' });
    else if (cfg.parent.includes('.')) {
      // A VLAN link is deleted only when weft made it for this network (marked by its alias).
      const own = await this.kernel.link(cfg.parent).then(
        (l) => l?.alias === ownerAlias(net.id),
        () => false,
      );
      if (own) steps.push({ op: 'link.del', name: cfg.parent, tolerate: 'gone' });
    }
    throwUnexpected(`delete network ${net.name}`, await this.kernel.apply(steps, { force: true }));
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: { defaultRoute: boolean }): Promise<void> {
    const cfg = this.configOrThrow(net);
    // One plan: the sub-interface made inside the sandbox, then configured there.
    const plan = [...joinHostSteps(cfg, ep, netnsPath), ...sandboxSteps(ep, opts.defaultRoute, netnsPath)];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.kernel.apply(plan);
        return;
      } catch (err) {
        const f = err instanceof PlanError ? err.failures[0] : undefined;
        if (f?.index === 0 && f.code === 'ENODEV') throw systemError(`the requested parent interface ${cfg.parent} was not found on the Docker host`);
        if (f?.index === 0 && isExists(f) && attempt === 0) {
          // An interface left over from an interrupted join: remove it and try once more.
          await this.removeInSandbox(ep, netnsPath);
          continue;
        }
        if (f && f.index > 0) await this.removeInSandbox(ep, netnsPath).catch(() => undefined);
        throw f?.index === 0 ? systemError(`failed to create the macvlan port: ${f.message}`) : err;
      }
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
      links = await this.links();
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
      if (l.kind === 'macvlan' && WEFT_SHIM.test(l.name) && !wantedShims.has(l.name)) orphans.push(l.name);
      if (l.kind === 'dummy' && WEFT_DUMMY.test(l.name) && !wantedParents.has(l.name)) orphans.push(l.name);
      const owner = l.alias?.startsWith('weft-macvlan:') ? l.alias.slice('weft-macvlan:'.length) : '';
      if (l.kind === 'vlan' && owner && !liveIds.has(owner)) orphans.push(l.name);
    }
    if (orphans.length) {
      await attempt(async () => throwUnexpected('restore: remove orphans', await this.kernel.apply(orphans.map((name) => ({ op: 'link.del', name, tolerate: 'gone' })), { force: true })));
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
          const present = !recreatedParents.has(netId) && (await this.kernel.link(ep.ifname, { ns: netnsPath })) !== null;
          if (present) return;
          const routes = await this.kernel.routes(4, { ns: netnsPath });
          await this.join(net, ep, netnsPath, { defaultRoute: !net.internal && !routes.some((r) => r.dst === 'default') });
        });
      }
    }
    steps.throwIfAny('restore macvlan networks');
  }

  private async removeInSandbox(ep: EndpointRecord, netnsPath: string): Promise<void> {
    throwUnexpected(`delete ${ep.ifname} in ${netnsPath}`, await this.kernel.apply(removeSteps(ep, netnsPath), { force: true }));
  }

  private async links(): Promise<Map<string, LinkInfo>> {
    return new Map((await this.kernel.links()).map((l) => [l.name, l]));
  }

  configOrThrow(net: NetworkRecord): MacvlanConfig {
    const cfg = configOf(net);
    if (!cfg) throw systemError(`network ${net.name} (${net.id}) has no macvlan state`);
    return cfg;
  }
}
