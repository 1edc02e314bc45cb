import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { CommanderError } from 'commander';
import { buildApi } from '../api/index.js';
import { createApiServer } from '../api/server.js';
import { BridgeDriver } from '../drivers/bridge/index.js';
import { HostDriver } from '../drivers/host/index.js';
import { MacvlanDriver, unsupportedDriverError } from '../drivers/macvlan/index.js';
import { DriverRegistry } from '../drivers/driver.js';
import type { Kernel } from '../kernel/types.js';
import { DefaultIpam, IpamRegistry, NullIpam } from '../ipam/index.js';
import { NullDriver } from '../drivers/null/index.js';
import { Engine } from '../engine/engine.js';
import type { ResolvInput } from '../dns/resolv.js';
import { createLogger } from '../common/log.js';
import { createKernel } from '../kernel/index.js';
import { TABLE } from '../kernel/nft.js';
import { nftAlias, watchNftTable } from '../kernel/firewall-watch.js';
import { ConmonRuntime } from '../runtime/conmon.js';
import { ImageStore } from '../runtime/images.js';
import { openDatabase } from '../store/db.js';
import { SqliteStore } from '../store/sqlite.js';
import { helperPath } from '../common/native.js';
import { DnsServer, hostUpstreams, resolvConfFor } from '../dns/server.js';
import { TYPE_A } from '../dns/table.js';
import { DaemonConfigError, parseDaemonArgs, type DaemonConfig } from './config.js';
import { createCluster } from './cluster.js';
import { OverlayWiring } from './overlay.js';
import { OverlayDriver } from '../drivers/overlay/index.js';
import { NetKeys } from '../cluster/net-keys.js';
import type { NetworkDriver } from '../drivers/driver.js';
import { readHostRoutes } from './hostRoutes.js';
import { FirewallKeeper } from './firewall.js';
import { listenUnix, socketGid } from './socket.js';
import { installSafetyNet } from './safety.js';
import { ipamPluginResolver, networkPluginResolver, pluginJson, PluginDiscovery, PluginManager } from '../plugins/index.js';
import { feedNodeDiscovery } from '../plugins/node-discovery.js';
import { startUi } from '../ui/index.js';

// weftd: reads its configuration, reconciles the kernel with the store, then serves the
// Docker Engine API on a unix socket. Containers outlive it (conmon holds them). main.ts is the
// entry point; a test's own entry point may add drivers (the composition root is the only place
// that names them).

export interface DaemonExtensions {
  /** More network drivers, registered beside the built-in ones before the engine starts. */
  drivers?: (kernel: Kernel) => NetworkDriver[];
}

export async function runDaemon(config: DaemonConfig, ext: DaemonExtensions = {}): Promise<() => Promise<void>> {
  const log = createLogger({ level: config.logLevel });
  installSafetyNet(log);
  const socketPath = config.host.replace(/^unix:\/\//, '');
  const gid = socketGid(config.group, socketPath, log); // a bad --group fails before anything is touched
  const kernel = createKernel({ backend: config.kernelBackend, nft: nftAlias(join(config.execRoot, 'bin')), log: log.child({ component: 'kernel' }) });
  // Read while the store loads (the engine needs them only from start() on).
  const firstRoutes = readHostRoutes(kernel);
  let hostRoutes: string[] = [];
  const db = openDatabase(config.dataRoot);
  const store = new SqliteStore(db);
  const images = new ImageStore(db, config.dataRoot);
  // The cluster is made now and started once the engine is up: the overlay driver and the global
  // address space need it from the start (its hooks run when a swarm resumes).
  let wiring: OverlayWiring | undefined;
  const cluster = createCluster(config, log, {
    createSwarmNetworks: (s, how) => wiring!.hooks.createSwarmNetworks!(s, how),
    removeSwarmNetworks: (s) => wiring!.hooks.removeSwarmNetworks!(s),
  });
  const netKeys = new NetKeys(cluster.cluster, log.child({ component: 'overlay' }));
  const overlay = new OverlayDriver({ kernel, cluster: cluster.cluster, keys: netKeys, execRoot: config.execRoot, log: log.child({ component: 'overlay' }), nameOf: (id) => engine.registry.containers.byId.get(id)?.name });
  const builtIn: NetworkDriver[] = [new BridgeDriver({ kernel }), new HostDriver(), new NullDriver(), new MacvlanDriver({ kernel }), overlay, ...(ext.drivers?.(kernel) ?? [])];
  const drivers = new DriverRegistry(builtIn);
  // Docker's drivers weft does not have: a clear refusal naming what is missing, not `plugin not found`.
  drivers.addResolver(async (name) => {
    const refusal = unsupportedDriverError(name);
    if (refusal) throw refusal;
    return null;
  });
  // Legacy network and IPAM plugins, activated at the first use of a name no built-in driver has.
  const plugins = new PluginManager({ discovery: new PluginDiscovery(config.pluginDirs), timeoutMs: config.pluginTimeoutMs, log: log.child({ component: 'plugins' }) });
  const ipamDrivers = new IpamRegistry([new DefaultIpam({ localPools: config.defaultAddressPools, globalClaims: () => netKeys.claims() }), new NullIpam()]);
  ipamDrivers.addResolver(ipamPluginResolver(plugins, { stateDir: join(config.dataRoot, 'plugins') }));
  drivers.addResolver(
    networkPluginResolver(plugins, {
      kernel,
      log: log.child({ component: 'plugins' }),
      addressSpace: async (net) => {
        const ipam = await ipamDrivers.resolve(net.ipam.driver || 'default');
        const spaces = ipam ? await ipam.getDefaultAddressSpaces() : { local: '', global: '' };
        return net.scope === 'global' ? spaces.global : spaces.local;
      },
    }),
  );
  const engine: Engine = new Engine({
    dataRoot: config.dataRoot,
    execRoot: config.execRoot,
    defaultBridge: {
      bridgeName: config.bridge,
      bip: config.bip,
      fixedCidr: config.fixedCidr,
      mtu: config.mtu,
      icc: config.icc,
      ipMasq: config.ipMasq,
      enableIPv6: config.ipv6,
      fixedCidrV6: config.fixedCidrV6,
    },
    ipamDrivers,
    plugins: () => plugins.all().map(pluginJson),
    dns: config.dns,
    kernel,
    drivers,
    store,
    images,
    runtime: new ConmonRuntime({ execRoot: config.execRoot, dataRoot: config.dataRoot, images, logger: log }),
    hostRoutes: () => hostRoutes,
    log,
    resolvFor: (c): ResolvInput | null =>
      resolvConfFor(
        c,
        (id) => engine.registry.networks.byId.get(id),
        (n) => engine.networks.dnsService(n),
        undefined,
        engine.registry.endpointsOfContainer(c.id).filter((e) => e.gatewayService).map((e) => e.networkId),
      ),
  });
  hostRoutes = await firstRoutes;
  if (config.imageSeedDir && existsSync(config.imageSeedDir)) await engine.images.seed(config.imageSeedDir);
  // The watch starts before the restore, so nothing done to the table after it goes unseen; what
  // it reports meanwhile is acted on once the engine has started.
  const firewall = new FirewallKeeper({ reload: () => engine.reloadFirewall(), log: log.child({ component: 'firewall' }) });
  const watch = watchNftTable(kernel, { helper: helperPath('weft-nftwatch'), table: TABLE, userChain: 'weft-user', onForeignChange: (e) => firewall.disrupted(e), log });
  watch.start();
  await engine.start();
  firewall.start();
  const pickUpstreams = () => (config.dns.length ? config.dns : hostUpstreams());
  let upstreams = pickUpstreams();
  const dns = new DnsServer({
    feed: {
      snapshot: () => ({ networks: engine.registry.networks.byId.values(), containers: engine.registry.containers.byId.values(), endpoints: engine.registry.endpoints.byId.values() }),
      subscribe: (f) => engine.events.subscribe(f),
    },
    service: (n) => engine.networks.dnsService(n),
    upstreams: () => upstreams,
    upstreamsFor: (id) => (engine.registry.containers.byId.get(id)?.hostConfig as { Dns?: string[] } | undefined)?.Dns,
    log: log.child({ component: 'dns' }),
    isRealized: (n) => engine.networks.isRealized(n),
    peers: {
      snapshot: () => overlay.peers.all().filter((p) => p.node !== cluster.cluster.nodeId),
      subscribe: (f) => overlay.peers.onChange((c) => c.peer.node !== cluster.cluster.nodeId && f(c.type, c.peer)),
    },
  });
  dns.follow(); // opens and closes a listener per user-defined network as networks come and go
  // Host routes and resolvers change rarely; refreshing them off the request path keeps it fast.
  const routeTimer = setInterval(() => {
    void readHostRoutes(kernel).then((r) => (hostRoutes = r), () => undefined);
    upstreams = pickUpstreams();
  }, 5000);
  routeTimer.unref();

  wiring = new OverlayWiring(engine, cluster.cluster, overlay, netKeys, log.child({ component: 'overlay' }));
  await cluster.start();
  const stopNodeDiscovery = feedNodeDiscovery(cluster.cluster, drivers, log.child({ component: 'plugins' }));
  await wiring.sync().catch((err: unknown) => log.warn({ err: String(err) }, 'cluster store not attached yet'));
  // trace asks the DNS table what a container's query would get (the same lookup a query takes).
  const dnsLookup = (sourceIp: string, name: string) => dns.table.lookup(sourceIp, name, TYPE_A)?.answers.map((a) => a.data) ?? null;
  const server = createApiServer(buildApi(engine, cluster.swarm, cluster.cluster, { dnsLookup }), log);
  // Upgraded (attach/exec) connections are not the http server's any more: track them to end them at shutdown.
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    hijacked.add(socket);
    socket.on('close', () => hijacked.delete(socket));
  });
  await listenUnix(server, socketPath, gid);
  log.info({ socket: socketPath, dataRoot: config.dataRoot, execRoot: config.execRoot }, 'weftd listening');
  // Opt-in (--ui): the topology page, reading the same records and event bus as the API.
  const ui = config.ui ? await startUi({ address: config.ui, engine, cluster: cluster.cluster, apiSocket: socketPath, log }) : null;

  return async () => {
    clearInterval(routeTimer);
    await ui?.close();
    watch.stop();
    firewall.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of hijacked) socket.destroy();
    await closed;
    await dns.closeAll();
    netKeys.close();
    await cluster.close();
    stopNodeDiscovery();
    plugins.stop();
    await kernel.close();
    await engine.registry.close();
  };
}

async function main(ext: DaemonExtensions): Promise<void> {
  let config: DaemonConfig;
  try {
    config = parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode); // --help/--version already printed
    process.stderr.write(`weftd: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (!config.iptables) {
    // Isolation, masquerade and published ports all live in weft's nftables table: without it
    // weft would silently break the network model, so it refuses instead of ignoring the key.
    process.stderr.write('weftd: --iptables=false is not supported: weft keeps isolation, masquerade and published ports in its own nftables table (inet weft)\n');
    process.exit(1);
  }
  const stop = await runDaemon(config, ext);
  const shutdown = () => {
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** weftd's whole life: parse the command line, run until SIGTERM/SIGINT, exit 1 on a fatal error. */
export function daemonMain(ext: DaemonExtensions = {}): void {
  main(ext).catch((err: unknown) => {
    process.stderr.write(`weftd: ${err instanceof DaemonConfigError ? err.message : ((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  });
}
