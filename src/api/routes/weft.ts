import type { Engine } from '../../engine/engine.js';
import { trace } from '../../engine/trace/trace.js';
import { invalid } from '../../common/errors.js';
import { TABLE } from '../../kernel/nft.js';
import type { Router } from '../router.js';

// weft's own endpoints, outside Docker's API (Docker has no equivalent: dockerd replays its
// iptables rules only when firewalld announces a reload on D-Bus; users restart the daemon;
// and no Docker tool explains why one container cannot reach another).

export interface WeftRouteOptions {
  /** The embedded DNS's answer (A records) to `name` asked from `sourceIp`; null: not a local name. */
  dnsLookup?: (sourceIp: string, name: string) => string[] | null;
}

export function weftRoutes(router: Router, engine: Engine, opts: WeftRouteOptions = {}): void {
  /** Rebuilds the nftables table from the records now (what the firewall watch does by itself). */
  router.add('POST', '/weft/firewall/reload', async () => {
    const t0 = performance.now();
    const counts = await engine.reloadFirewall();
    return { Table: TABLE, Networks: counts.networks, PublishedPorts: counts.ports, DurationMs: Math.round((performance.now() - t0) * 100) / 100 };
  });

  /** Whether container `from` reaches container `to` (optionally on `port`), step by step, from the live state. */
  router.add('GET', '/weft/trace', (ctx) => {
    const from = ctx.query.get('from');
    const to = ctx.query.get('to');
    if (!from || !to) throw invalid('trace needs from=<container> and to=<container>');
    return trace({ registry: engine.registry, kernel: engine.opts.kernel, isRealized: (n) => engine.networks.isRealized(n), dnsLookup: opts.dnsLookup }, from, to, ctx.query.get('port'));
  });
}
