import type { NetworkRecord } from '../../common/model.js';
import type { FirewallCounts } from '../driver.js';
import { systemError } from '../../common/errors.js';
import { ErrorCollector } from '../../common/collect.js';
import { throwUnexpected } from '../../kernel/base.js';
import type { LinkInfo } from '../../kernel/types.js';
import type { BridgeDriver } from './bridge.js';
import { bridgeTableScript, configsOf, defaultRouteRepair, planRestore, rejoinTakesDefaultRoute, routeGivers, type Endpoints } from './restore-plan.js';

// Daemon start: make the kernel match the records. What to do is decided by planRestore
// (restore-plan.ts, pure); this shell reads the kernel and runs it:
//  1. one listing of the links to see what exists;
//  2. sysctls, then the whole nft table rebuilt from the records in ONE transaction;
//  3. ONE forced plan (orphans, bridges, surviving veths and their sandbox side);
//  4. a sandbox left without a default route gets it back from its first endpoint that can give
//     one, and endpoints whose host veth is gone are joined again.
// It keeps going past failures and reports them all at the end.

export async function restoreBridges(driver: BridgeDriver, nets: NetworkRecord[], endpoints: Endpoints): Promise<void> {
  const kernel = driver.kernel;
  const errors = new ErrorCollector();
  const attempt = (fn: () => Promise<unknown>) => errors.attempt(fn);

  let links: LinkInfo[] | null = null;
  await attempt(async () => {
    links = await kernel.links();
  });
  const plan = planRestore({ nets, endpoints, links });

  await attempt(() => driver.setSysctls());
  let nftOk = false;
  await attempt(async () => {
    await kernel.nftApply(plan.nftScript);
    driver.markInitialized();
    nftOk = true;
  });
  if (plan.ipv6Forwarding) await attempt(() => kernel.sysctls({ 'net.ipv6.conf.all.forwarding': '1' }));

  let ipOk = false;
  await attempt(async () => {
    throwUnexpected('restore', await kernel.apply(plan.steps, { force: true }));
    ipOk = true;
  });
  // Complete only when both halves went in: otherwise the next join re-asserts everything.
  for (const net of plan.realize) driver.markRealized(net.id, ipOk && nftOk);

  for (const giver of routeGivers(plan.kept)) {
    await attempt(async () => kernel.apply(defaultRouteRepair(giver, await kernel.routes(4, { ns: giver.netnsPath }))));
  }
  for (const w of plan.rejoin) {
    await attempt(async () => {
      if (!(await kernel.netnsExists(w.netnsPath))) throw systemError(`restore endpoint ${w.ep.id}: sandbox ${w.netnsPath} is gone`);
      const defaultRoute = rejoinTakesDefaultRoute(w, await kernel.routes(4, { ns: w.netnsPath }));
      await driver.join(w.net, w.ep, w.netnsPath, { defaultRoute });
    });
  }
  errors.throwIfAny('restore bridge networks');
}

/**
 * Firewall reload: the whole table again from the records, in one transaction, for the networks
 * this daemon has put in the kernel (realized or being realized; the lazy others have no
 * elements). The admin's weft-user chain is re-created empty only if it was deleted.
 */
export async function reloadBridgeFirewall(driver: BridgeDriver, nets: NetworkRecord[], endpoints: Endpoints): Promise<FirewallCounts> {
  const configs = configsOf(nets);
  const live = nets.filter((n) => configs.has(n.id) && driver.hasKernelObjects(n.id));
  const { script, ports } = bridgeTableScript(live, configs, endpoints);
  await driver.kernel.nftApply(script);
  driver.markInitialized();
  return { networks: live.length, ports };
}
