import { release } from 'node:os';
import type { NetworkRecord } from '../../common/model.js';
import { invalid, notImplemented } from '../../common/errors.js';
import { kernelHasModule } from '../macvlan/unsupported.js';

// The overlay driver's options (libnetwork drivers/overlay/overlay.go, ov_network.go): the MTU
// (default 1450: 1500 minus the 50 bytes of VXLAN over IPv4), `encrypted` (IPsec ESP between
// hosts in Docker), and the VNI the cluster store granted, kept in the record's driver state.

export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ENCRYPTED = 'encrypted';
export const OPT_VNI = 'com.docker.network.driver.overlay.vxlanid_list';
export const DEFAULT_MTU = 1450;
export const VXLAN_PORT = 4789;

export interface OverlayConfig {
  vni: number;
  mtu: number;
  /** UDP port of the VXLAN (swarm init --data-path-port; 4789 by default). */
  port?: number;
}

/** Validates a new network's options; the VNI comes later from the store. */
export function parseOverlayOptions(net: NetworkRecord, hasModule: (m: string) => boolean = kernelHasModule): { mtu: number } {
  const opts = net.options ?? {};
  if (OPT_ENCRYPTED in opts) throw encryptedRefusal(hasModule);
  let mtu = DEFAULT_MTU;
  if (opts[OPT_MTU] !== undefined && opts[OPT_MTU] !== '') {
    const v = Number(opts[OPT_MTU]);
    if (!Number.isInteger(v) || v < 68 || v > 65535) throw invalid(`invalid MTU value "${opts[OPT_MTU]}": must be an integer between 68 and 65535`);
    mtu = v;
  }
  if (net.enableIPv6) throw notImplemented('weft does not support IPv6 on overlay networks yet');
  return { mtu };
}

/**
 * Docker encrypts an overlay's VXLAN traffic with IPsec ESP transport-mode SAs between each pair
 * of hosts; that needs the kernel's xfrm ESP support (esp4), and the alternative weft would use,
 * WireGuard, the wireguard module. This kernel has neither, so refuse rather than send plain text.
 */
export function encryptedRefusal(hasModule: (m: string) => boolean = kernelHasModule) {
  const missing = [!hasModule('esp4') && "IPsec ESP ('esp4': `ip xfrm state add ... proto esp` fails with \"Requested type not found\")", !hasModule('wireguard') && "WireGuard ('wireguard')"].filter(Boolean);
  if (missing.length) {
    return notImplemented(`weft cannot create encrypted overlay networks: this kernel (${release()}) lacks ${missing.join(' and ')}; create the network without -o encrypted`);
  }
  return notImplemented('weft does not implement encrypted overlay networks yet; create the network without -o encrypted');
}

export function overlayState(cfg: OverlayConfig): Record<string, string> {
  return { vni: String(cfg.vni), mtu: String(cfg.mtu), port: String(cfg.port ?? VXLAN_PORT) };
}

export function configOf(net: NetworkRecord): OverlayConfig | null {
  const vni = Number(net.driverState?.vni);
  const mtu = Number(net.driverState?.mtu);
  const port = Number(net.driverState?.port) || VXLAN_PORT;
  return Number.isInteger(vni) && vni > 0 && mtu > 0 ? { vni, mtu, port } : null;
}
