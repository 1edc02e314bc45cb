import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import type { FirewallCounts } from '../driver.js';
import { systemError } from '../../common/errors.js';
import { ErrorCollector } from '../../common/collect.js';
import { throwUnexpected } from '../../kernel/base.js';
import { fullTableScript } from '../../kernel/nft.js';
import type { LinkInfo, Step } from '../../kernel/types.js';
import { nftPortsOf, type BridgeDriver } from './bridge.js';
import { bridgeUpSteps, enslaveSteps, joinSandboxSteps, vethName } from './commands.js';
import { configOf, nftNetworkOf, type BridgeConfig } from './options.js';

// Daemon start: make the kernel match the records. Bridges are lazy (see bridge.ts): a network is
// restored ("realized") when it has endpoints, when its bridge is found in the kernel (realized
// before the restart), or when it is the predefined default bridge; the others stay kernel-free.
//  1. one listing of the links to see what exists;
//  2. sysctls, then the whole nft table (realized networks and published ports) rebuilt from
//     the records in ONE transaction;
//  3. ONE plan that deletes orphans
//     (weft-looking br-<12 hex> bridges and veth<7 hex> interfaces no record explains),
//     re-creates missing bridges, re-asserts address/mtu/up on existing ones, re-enslaves
//     surviving veths (a re-created bridge has lost its ports) and re-asserts their sandbox side
//     (address, up: a join cut short by a crash may have stopped before it);
//  4. a sandbox left without a default route gets it back from its first endpoint that can give
//     one, and endpoints whose host veth is gone are joined again (their sandbox must still exist).
// It keeps going past failures and reports them all at the end.

const WEFT_BRIDGE = /^br-[0-9a-f]{12}$/;
const WEFT_VETH = /^veth[0-9a-f]{7}$/;

interface Wanted {
  net: NetworkRecord;
  cfg: BridgeConfig;
  ep: EndpointRecord;
  netnsPath: string;
}

export async function restoreBridges(
  driver: BridgeDriver,
  nets: NetworkRecord[],
  endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>,
): Promise<void> {
  const kernel = driver.kernel;
  const errors = new ErrorCollector();
  const attempt = (fn: () => Promise<unknown>) => errors.attempt(fn);

  const configs = new Map<string, BridgeConfig>();
  for (const net of nets) {
    const cfg = configOf(net);
    if (cfg) configs.set(net.id, cfg);
  }
  let links: LinkInfo[] = [];
  let listed = false;
  await attempt(async () => {
    links = await kernel.links();
    listed = true;
  });
  const present = new Map(links.map((l) => [l.name, l]));
  const isBridge = (name: string) => present.get(name)?.kind === 'bridge';
  // Without the listing, every network is taken as realized (re-asserting is idempotent, and a
  // later delete must not leak a bridge this restart could not see).
  const realize = nets.filter((n) => {
    const cfg = configs.get(n.id);
    return cfg && (!listed || n.predefined || cfg.defaultBridge || isBridge(cfg.bridgeName) || (endpoints.get(n.id) ?? []).length > 0);
  });

  await attempt(() => driver.setSysctls());
  let nftOk = false;
  await attempt(async () => {
    await kernel.nftApply(bridgeTableScript(realize, configs, endpoints).script);
    driver.markInitialized();
    nftOk = true;
  });
  for (const net of realize) if (net.enableIPv6) await attempt(() => kernel.sysctls({ 'net.ipv6.conf.all.forwarding': '1' }));

  const wantedBridges = new Set([...configs.values()].map((c) => c.bridgeName));
  const wantedVeths = new Map<string, Wanted>();
  for (const list of endpoints.values()) {
    for (const { ep, netnsPath } of list) {
      const net = nets.find((n) => n.id === ep.networkId);
      const cfg = net && configs.get(net.id);
      if (net && cfg) wantedVeths.set(vethName(ep), { net, cfg, ep, netnsPath });
    }
  }

  const steps: Step[] = [];
  for (const l of links) {
    if (l.kind === 'bridge' && WEFT_BRIDGE.test(l.name) && !wantedBridges.has(l.name)) steps.push({ op: 'link.del', name: l.name, tolerate: 'gone' });
    // A veth is ours when it hangs off a weft bridge or off none (its bridge was deleted).
    const ours = !l.master || wantedBridges.has(l.master) || WEFT_BRIDGE.test(l.master);
    if (l.kind === 'veth' && WEFT_VETH.test(l.name) && ours && !wantedVeths.has(l.name)) steps.push({ op: 'link.del', name: l.name, tolerate: 'gone' });
  }
  for (const net of realize) {
    const cfg = configs.get(net.id)!;
    steps.push(...bridgeUpSteps(net, cfg, !isBridge(cfg.bridgeName)));
  }
  const rejoin: Wanted[] = [];
  const kept: Wanted[] = [];
  for (const [veth, w] of wantedVeths) {
    if (!present.has(veth)) rejoin.push(w);
    else {
      steps.push(...enslaveSteps(w.cfg, w.ep), ...joinSandboxSteps(w.ep, false, w.netnsPath));
      kept.push(w);
    }
  }
  let ipOk = false;
  await attempt(async () => {
    throwUnexpected('restore', await kernel.apply(steps, { force: true }));
    ipOk = true;
  });
  // Complete only when both halves went in: otherwise the next join re-asserts everything.
  for (const net of realize) driver.markRealized(net.id, ipOk && nftOk);

  for (const path of new Set(kept.map((w) => w.netnsPath))) {
    const giver = kept.find((w) => w.netnsPath === path && !w.net.internal && w.ep.gateway4 && w.ep.ipv4);
    if (!giver) continue;
    await attempt(async () => {
      if ((await kernel.routes(4, { ns: path })).some((r) => r.dst === 'default')) return;
      await kernel.apply([{ op: 'route.replace', ns: path, dst: 'default', via: giver.ep.gateway4, dev: giver.ep.ifname }]);
    });
  }
  for (const w of rejoin) {
    await attempt(async () => {
      if (!(await kernel.netnsExists(w.netnsPath))) throw systemError(`restore endpoint ${w.ep.id}: sandbox ${w.netnsPath} is gone`);
      // Only this endpoint can say whether it provided the default route: give it back if the
      // sandbox has none now (its route went away with the interface).
      const routes = await kernel.routes(4, { ns: w.netnsPath });
      const defaultRoute = !w.net.internal && !routes.some((r) => r.dst === 'default');
      await driver.join(w.net, w.ep, w.netnsPath, { defaultRoute });
    });
  }
  errors.throwIfAny('restore bridge networks');
}

type Endpoints = Map<string, { ep: EndpointRecord; netnsPath: string }[]>;

/** weft's whole nft table for these networks and their endpoints' published ports. */
function bridgeTableScript(nets: NetworkRecord[], configs: Map<string, BridgeConfig>, endpoints: Endpoints): { script: string; ports: number } {
  const ports = nets.flatMap((n) => (endpoints.get(n.id) ?? []).flatMap(({ ep }) => nftPortsOf(n, ep)));
  return { script: fullTableScript(nets.map((n) => nftNetworkOf(n, configs.get(n.id)!)), ports), ports: ports.length };
}

/**
 * Firewall reload: the whole table again from the records, in one transaction, for the networks
 * this daemon has put in the kernel (realized or being realized; the lazy others have no
 * elements). The admin's weft-user chain is re-created empty only if it was deleted.
 */
export async function reloadBridgeFirewall(driver: BridgeDriver, nets: NetworkRecord[], endpoints: Endpoints): Promise<FirewallCounts> {
  const configs = new Map<string, BridgeConfig>();
  const live = nets.filter((n) => {
    const cfg = configOf(n);
    if (cfg) configs.set(n.id, cfg);
    return cfg && driver.hasKernelObjects(n.id);
  });
  const { script, ports } = bridgeTableScript(live, configs, endpoints);
  await driver.kernel.nftApply(script);
  driver.markInitialized();
  return { networks: live.length, ports };
}
