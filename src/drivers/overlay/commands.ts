import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import type { Step } from '../../kernel/types.js';
import { macFromNetworkId } from '../../common/mac.js';
import { gatewayCidrs } from '../bridge/commands.js';
import { arrivalSteps, sandboxSteps } from '../plumbing.js';
import { VXLAN_PORT, type OverlayConfig } from './options.js';

// Pure builders of the overlay driver's kernel plans, laid out as Docker's overlay driver does
// (libnetwork drivers/overlay/ov_network.go): per network, a namespace holding a bridge (br0,
// with the gateway address) and a VXLAN device enslaved to it. The VXLAN device is made in the
// daemon's namespace, so its UDP socket (port 4789) stays on the underlay, then moved into the
// network's namespace. Learning is off and ARP is answered by the device itself (proxy) from
// static neighbour entries: remote endpoints are programmed from the cluster store, nothing is
// flooded or multicast.

export const BRIDGE = 'br0';

/** A remote endpoint as the cluster store holds it. */
export interface Peer {
  netId: string;
  epId: string;
  node: string;
  /** The remote host's underlay address (its VTEP). */
  vtep: string;
  /** Plain IPv4 address. */
  ip: string;
  mac: string;
  containerId: string;
  name: string;
  aliases: string[];
}

/** Docker's names: vx-<VNI in hex>-<network id prefix>, at most 15 characters. */
export function vxlanName(net: NetworkRecord, cfg: OverlayConfig): string {
  return `vx-${cfg.vni.toString(16).padStart(6, '0')}-${net.id.slice(0, 5)}`;
}

/** The network's bridge and VXLAN device in a fresh namespace at nsPath. */
export function networkUpSteps(net: NetworkRecord, cfg: OverlayConfig, nsPath: string, local: string): Step[] {
  const vx = vxlanName(net, cfg);
  const ns = nsPath;
  const steps: Step[] = [
    { op: 'link.del', name: vx, tolerate: 'gone' }, // left over from a crash
    { op: 'netns.delete', path: ns, tolerate: 'gone' },
    { op: 'netns.create', path: ns },
    { op: 'link.add', ns, name: BRIDGE, kind: 'bridge', mtu: cfg.mtu },
    { op: 'link.set', ns, name: BRIDGE, mac: macFromNetworkId(net.id), up: true },
  ];
  for (const a of gatewayCidrs(net).v4) steps.push({ op: 'addr.replace', ns, dev: BRIDGE, cidr: a, broadcast: true });
  steps.push(
    { op: 'link.add', name: vx, kind: 'vxlan', mtu: cfg.mtu, vxlan: { vni: cfg.vni, local, port: cfg.port ?? VXLAN_PORT, learning: false, proxy: true } },
    { op: 'link.set', name: vx, netns: ns },
    { op: 'link.set', ns, name: vx, master: BRIDGE, up: true },
  );
  return steps;
}

/** Removing the namespace removes the bridge, the VXLAN device and the ports with it. */
export function networkDownSteps(nsPath: string): Step[] {
  return [{ op: 'netns.delete', path: nsPath, tolerate: 'gone' }];
}

/**
 * The container's veth (the shared container-side plumbing), its host end made straight into the
 * network's namespace, on br0. No default route: an overlay's way out is docker_gwbridge.
 */
export function joinSteps(cfg: OverlayConfig, ep: EndpointRecord, nsPath: string, sandbox: string): Step[] {
  const veth = ep.hostIfname;
  return [
    { op: 'link.del', ns: nsPath, name: veth, tolerate: 'gone' },
    ...arrivalSteps(ep, sandbox, { via: 'veth', hostName: veth, mtu: cfg.mtu, hostNs: nsPath }),
    { op: 'link.set', ns: nsPath, name: veth, master: BRIDGE, up: true },
    ...sandboxSteps(ep, false, sandbox),
  ];
}

export function leaveSteps(ep: EndpointRecord, nsPath: string): Step[] {
  return [{ op: 'link.del', ns: nsPath, name: ep.hostIfname, tolerate: 'gone' }];
}

/** A remote endpoint: its MAC behind the remote VTEP, and its address answered by the device. */
export function peerAddSteps(net: NetworkRecord, cfg: OverlayConfig, nsPath: string, p: Peer): Step[] {
  const dev = vxlanName(net, cfg);
  return [
    { op: 'fdb.replace', ns: nsPath, dev, mac: p.mac, dst: p.vtep },
    { op: 'neigh.replace', ns: nsPath, dev, ip: p.ip, mac: p.mac },
  ];
}

export function peerDelSteps(net: NetworkRecord, cfg: OverlayConfig, nsPath: string, p: Peer): Step[] {
  const dev = vxlanName(net, cfg);
  return [
    { op: 'neigh.del', ns: nsPath, dev, ip: p.ip, tolerate: 'any' },
    { op: 'fdb.del', ns: nsPath, dev, mac: p.mac, dst: p.vtep, tolerate: 'any' },
  ];
}
