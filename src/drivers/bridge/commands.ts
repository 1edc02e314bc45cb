import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import type { Step } from '../../kernel/types.js';
import { macFromNetworkId } from '../../common/mac.js';
import { arrivalSteps, parkSteps } from '../plumbing.js';
import type { BridgeConfig } from './options.js';

// Pure builders of the bridge driver's kernel plans (unit-tested as data). Either backend runs
// them: the agent as one request, the command path as `ip -batch` lines (src/kernel/render.ts).
// The container side (the veth's peer in the sandbox, its addresses and routes) is the shared
// plumbing (../plumbing.ts); what is here is the host side: bridges, ports, hairpin.

/** Host-side veth name: "veth" + 7 hex of the endpoint id (the engine records the same). */
export function vethName(ep: EndpointRecord): string {
  return ep.hostIfname || `veth${ep.id.slice(0, 7)}`;
}

/** Gateway addresses of a network in CIDR form ("10.1.0.1/24"), v6 only when enabled. */
export function gatewayCidrs(net: NetworkRecord): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const pool of net.ipam.config) {
    if (!pool.Gateway || !pool.Subnet) continue;
    const cidr = `${pool.Gateway}/${pool.Subnet.split('/')[1]}`;
    if (pool.Subnet.includes(':')) {
      if (net.enableIPv6) v6.push(cidr);
    } else v4.push(cidr);
  }
  return { v4, v6 };
}

/** Creates the bridge (an existing one is kept: the steps after it bring it in line). */
export function bridgeUpSteps(net: NetworkRecord, cfg: BridgeConfig, create = true): Step[] {
  const br = cfg.bridgeName;
  const steps: Step[] = create ? [{ op: 'link.add', name: br, kind: 'bridge', tolerate: 'exists' }] : [];
  steps.push({ op: 'link.set', name: br, mac: macFromNetworkId(net.id), mtu: cfg.mtu, up: true });
  const gw = gatewayCidrs(net);
  for (const a of gw.v4) steps.push({ op: 'addr.replace', dev: br, cidr: a, broadcast: true });
  for (const a of gw.v6) steps.push({ op: 'addr.replace', dev: br, cidr: a, nodad: true });
  return steps;
}

/**
 * Host side of a join, in the daemon's namespace: the veth pair is created with its peer directly
 * inside the sandbox under its final name, so no rename and no move is needed. A veth of this
 * endpoint left over from an interrupted join goes first.
 */
export function joinHostSteps(cfg: BridgeConfig, ep: EndpointRecord, netnsPath: string): Step[] {
  const veth = vethName(ep);
  return [{ op: 'link.del', name: veth, tolerate: 'gone' }, ...arrivalSteps(ep, netnsPath, { via: 'veth', hostName: veth, mtu: cfg.mtu }), ...enslaveSteps(cfg, ep)];
}

/**
 * Puts the host veth on the bridge. An endpoint with published ports gets hairpin mode (as
 * Docker does without its userland proxy): with bridge netfilter, a container reaching its own
 * published port is DNAT'd while still being bridged, and the frame must go back out the port
 * it came in on.
 */
export function enslaveSteps(cfg: BridgeConfig, ep: EndpointRecord): Step[] {
  const veth = vethName(ep);
  const steps: Step[] = [{ op: 'link.set', name: veth, master: cfg.bridgeName, up: true }];
  if (ep.ports?.length) steps.push({ op: 'link.set', name: veth, hairpin: true });
  return steps;
}

/**
 * Cuts an endpoint off at once: the host end down and out of the bridge, the container end down
 * and out of the way of its name (eth1 may be reused by the next connect; best effort, it goes
 * with the veth anyway). The veth itself is deleted afterwards (vethDeleteSteps, in the background).
 */
export function leaveSteps(ep: EndpointRecord, netnsPath: string | null): Step[] {
  const veth = vethName(ep);
  const steps: Step[] = [{ op: 'link.set', name: veth, up: false, master: null, tolerate: 'gone' }];
  // Parked under a name of the veth's length, unique per endpoint.
  if (netnsPath && ep.ifname) steps.push(...parkSteps(ep, netnsPath, `z${veth.slice(4)}`));
  return steps;
}

/** Deletes a veth pair (its peer goes with it); already gone is fine. */
export function vethDeleteSteps(veth: string): Step[] {
  return [{ op: 'link.del', name: veth, tolerate: 'gone' }];
}

/** An nft script as a step (nothing when there are no lines). */
export function nftSteps(lines: string[]): Step[] {
  return lines.length ? [{ op: 'nft.apply', script: lines.join('\n') + '\n' }] : [];
}
