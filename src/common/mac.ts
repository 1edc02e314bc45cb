// Docker derives a container's MAC from its IPv4 address: 02:42 followed by the four bytes of
// the address (172.17.0.2 -> 02:42:ac:11:00:02), so an address always maps to the same MAC.

export function macFromIPv4(ip: string): string {
  const parts = ip.split('/')[0].split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`invalid IPv4 address: ${ip}`);
  }
  return ['02', '42', ...parts.map((p) => Number(p).toString(16).padStart(2, '0'))].join(':');
}

/**
 * A stable MAC for a bridge, from its network id. Setting one explicitly matters: a Linux
 * bridge otherwise takes the lowest MAC of its ports, so the gateway's MAC would change as
 * containers come and go and their ARP caches would go stale. Locally administered (02:),
 * and 02:43 so it never equals a container's 02:42 address.
 */
export function macFromNetworkId(id: string): string {
  const hex = id.replace(/[^0-9a-f]/gi, '').toLowerCase().padEnd(8, '0');
  return ['02', '43', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8)].join(':');
}
