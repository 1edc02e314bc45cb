import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import type { NftPort } from '../../kernel/nft.js';

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
