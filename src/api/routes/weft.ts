import type { Engine } from '../../engine/engine.js';
import { TABLE } from '../../kernel/nft.js';
import type { Router } from '../router.js';

// weft's own endpoints, outside Docker's API (Docker has no equivalent: dockerd replays its
// iptables rules only when firewalld announces a reload on D-Bus; users restart the daemon).

export function weftRoutes(router: Router, engine: Engine): void {
  /** Rebuilds the nftables table from the records now (what the firewall watch does by itself). */
  router.add('POST', '/weft/firewall/reload', async () => {
    const t0 = performance.now();
    const counts = await engine.reloadFirewall();
    return { Table: TABLE, Networks: counts.networks, PublishedPorts: counts.ports, DurationMs: Math.round((performance.now() - t0) * 100) / 100 };
  });
}
