import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { fullTableScript } from '../../kernel/nft.js';
import type { LinkInfo, RouteInfo, Step } from '../../kernel/types.js';
import { nftPortsOf } from './ports.js';
import { bridgeUpSteps, enslaveSteps, vethName } from './commands.js';
import { sandboxSteps } from '../plumbing.js';
import { configOf, nftNetworkOf, type BridgeConfig } from './options.js';

// The planning half of bridge restore, pure: the records and what the kernel was seen to hold go
// in, the steps that make the kernel match come out (restore.ts reads the kernel and runs them).
// Bridges are lazy (bridge.ts): a network is realized when it has endpoints, when its bridge was
// seen (realized before the restart), or when it is the default bridge; the others stay
// kernel-free, so they get neither a bridge nor nft elements.

const WEFT_BRIDGE = /^br-[0-9a-f]{12}$/;
const WEFT_VETH = /^veth[0-9a-f]{7}$/;

export type Endpoints = Map<string, { ep: EndpointRecord; netnsPath: string }[]>;

/** An endpoint the records want, with what its plumbing needs. */
export interface Wanted {
  net: NetworkRecord;
  cfg: BridgeConfig;
  ep: EndpointRecord;
  netnsPath: string;
}

export interface RestoreInput {
  nets: NetworkRecord[];
  endpoints: Endpoints;
  /** The daemon namespace's links; null when they could not be listed. */
  links: LinkInfo[] | null;
}

export interface RestorePlan {
  /** Networks whose kernel objects are put back. */
  realize: NetworkRecord[];
  /** weft's whole nft table for them, in one transaction (stale elements go with the old table). */
  nftScript: string;
  /** Some realized network has IPv6: forwarding must be on. */
  ipv6Forwarding: boolean;
  /**
   * ONE forced plan: orphans deleted (weft-looking br-<12 hex> bridges and veth<7 hex> ports no
   * record explains), missing bridges created, address/mtu/up re-asserted on the others,
   * surviving veths re-enslaved (a re-created bridge lost its ports) and their sandbox side
   * re-asserted (a join cut short by a crash may have stopped before it).
   */
  steps: Step[];
  /** Endpoints whose veth survived: their sandboxes' default route is checked afterwards. */
  kept: Wanted[];
  /** Endpoints whose host veth is gone: joined again (their sandbox must still exist). */
  rejoin: Wanted[];
}

/** The table script for these networks and their endpoints' published ports. */
export function bridgeTableScript(nets: NetworkRecord[], configs: Map<string, BridgeConfig>, endpoints: Endpoints): { script: string; ports: number } {
  const ports = nets.flatMap((n) => (endpoints.get(n.id) ?? []).flatMap(({ ep }) => nftPortsOf(n, ep)));
  return { script: fullTableScript(nets.map((n) => nftNetworkOf(n, configs.get(n.id)!)), ports), ports: ports.length };
}

export function configsOf(nets: NetworkRecord[]): Map<string, BridgeConfig> {
  const configs = new Map<string, BridgeConfig>();
  for (const net of nets) {
    const cfg = configOf(net);
    if (cfg) configs.set(net.id, cfg);
  }
  return configs;
}

export function planRestore({ nets, endpoints, links }: RestoreInput): RestorePlan {
  const configs = configsOf(nets);
  const present = new Map((links ?? []).map((l) => [l.name, l]));
  const isBridge = (name: string) => present.get(name)?.kind === 'bridge';
  // Without the listing every network is taken as realized: re-asserting is idempotent, and a
  // later delete must not leak a bridge this restart could not see.
  const realize = nets.filter((n) => {
    const cfg = configs.get(n.id);
    return cfg && (links === null || n.predefined || cfg.defaultBridge || isBridge(cfg.bridgeName) || (endpoints.get(n.id) ?? []).length > 0);
  });

  const wantedBridges = new Set([...configs.values()].map((c) => c.bridgeName));
  const wantedVeths = new Map<string, Wanted>();
  for (const list of endpoints.values()) {
    for (const { ep, netnsPath } of list) {
      const net = nets.find((n) => n.id === ep.networkId);
      const cfg = net && configs.get(net.id);
      if (net && cfg) wantedVeths.set(vethName(ep), { net, cfg, ep, netnsPath });
    }
  }

  const steps: Step[] = [...orphanSteps(links ?? [], wantedBridges, new Set(wantedVeths.keys()))];
  for (const net of realize) {
    const cfg = configs.get(net.id)!;
    steps.push(...bridgeUpSteps(net, cfg, !isBridge(cfg.bridgeName)));
  }
  const rejoin: Wanted[] = [];
  const kept: Wanted[] = [];
  for (const [veth, w] of wantedVeths) {
    // Unlisted links: nothing is known to survive, so everything is joined again (join deletes a leftover first).
    if (!present.has(veth)) rejoin.push(w);
    else {
      steps.push(...enslaveSteps(w.cfg, w.ep), ...sandboxSteps(w.ep, false, w.netnsPath));
      kept.push(w);
    }
  }
  return {
    realize,
    nftScript: bridgeTableScript(realize, configs, endpoints).script,
    ipv6Forwarding: realize.some((n) => n.enableIPv6),
    steps,
    kept,
    rejoin,
  };
}

/** Deletions of weft-looking links no record explains. */
function orphanSteps(links: LinkInfo[], wantedBridges: Set<string>, wantedVeths: Set<string>): Step[] {
  const steps: Step[] = [];
  for (const l of links) {
    if (l.kind === 'bridge' && WEFT_BRIDGE.test(l.name) && !wantedBridges.has(l.name)) steps.push({ op: 'link.del', name: l.name, tolerate: 'gone' });
    // A veth is ours when it hangs off a weft bridge or off none (its bridge was deleted).
    const ours = !l.master || wantedBridges.has(l.master) || WEFT_BRIDGE.test(l.master);
    if (l.kind === 'veth' && WEFT_VETH.test(l.name) && ours && !wantedVeths.has(l.name)) steps.push({ op: 'link.del', name: l.name, tolerate: 'gone' });
  }
  return steps;
}

/** Sandboxes of surviving endpoints, each with the first endpoint that can give a default route. */
export function routeGivers(kept: Wanted[]): Wanted[] {
  const givers: Wanted[] = [];
  for (const path of new Set(kept.map((w) => w.netnsPath))) {
    const giver = kept.find((w) => w.netnsPath === path && !w.net.internal && w.ep.gateway4 && w.ep.ipv4);
    if (giver) givers.push(giver);
  }
  return givers;
}

/** A sandbox left without a default IPv4 route gets it back from its giver. */
export function defaultRouteRepair(giver: Wanted, routes: RouteInfo[]): Step[] {
  if (routes.some((r) => r.dst === 'default')) return [];
  return [{ op: 'route.replace', ns: giver.netnsPath, dst: 'default', via: giver.ep.gateway4, dev: giver.ep.ifname }];
}

/**
 * Whether a re-joined endpoint gives its sandbox the default route: only it can say whether it
 * did (its route went away with the interface), so it does when the sandbox now has none.
 */
export function rejoinTakesDefaultRoute(w: Wanted, routes: RouteInfo[]): boolean {
  return !w.net.internal && !routes.some((r) => r.dst === 'default');
}
