import { chmodSync, mkdirSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { CommanderError } from 'commander';
import { buildApi } from '../api/index.js';
import { createApiServer } from '../api/server.js';
import { BridgeDriver } from '../drivers/bridge/index.js';
import { HostDriver } from '../drivers/host/index.js';
import { MacvlanDriver } from '../drivers/macvlan/index.js';
import { NullDriver } from '../drivers/null/index.js';
import { Engine } from '../engine/engine.js';
import type { ResolvInput } from '../engine/containerFiles.js';
import { createLogger } from '../common/log.js';
import { Kernel } from '../kernel/kernel.js';
import { ConmonRuntime } from '../runtime/conmon.js';
import { ImageStore } from '../runtime/images.js';
import { DnsServer, hostUpstreams, resolvConfFor } from '../dns/server.js';
import { parseDaemonArgs, type DaemonConfig } from './config.js';
import { readHostRoutes } from './hostRoutes.js';
import { installSafetyNet } from './safety.js';

// weftd: reads its configuration, reconciles the kernel with the store, then serves the
// Docker Engine API on a unix socket. Containers outlive it (conmon holds them).

export async function runDaemon(config: DaemonConfig): Promise<() => Promise<void>> {
  const log = createLogger({ level: config.logLevel });
  installSafetyNet(log);
  const kernel = new Kernel();
  // Read while the store loads (the engine needs them only from start() on).
  const firstRoutes = readHostRoutes(kernel);
  let hostRoutes: string[] = [];
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
    defaultAddressPools: config.defaultAddressPools,
    dns: config.dns,
    kernel,
    drivers: [new BridgeDriver({ kernel }), new HostDriver(), new NullDriver(), new MacvlanDriver({ kernel })],
    makeRuntime: (db) => {
      const images = new ImageStore(db, config.dataRoot);
      return { images, runtime: new ConmonRuntime({ execRoot: config.execRoot, dataRoot: config.dataRoot, images, logger: log }) };
    },
    hostRoutes: () => hostRoutes,
    log,
    resolvFor: (c): ResolvInput | null => resolvConfFor(c, engine.registry),
  });
  hostRoutes = await firstRoutes;
  if (config.imageSeedDir && existsSync(config.imageSeedDir)) await engine.images.seed(config.imageSeedDir);
  await engine.start();
  const pickUpstreams = () => (config.dns.length ? config.dns : hostUpstreams());
  let upstreams = pickUpstreams();
  const dns = new DnsServer({
    registry: engine.registry,
    upstreams: () => upstreams,
    upstreamsFor: (id) => (engine.registry.containers.byId.get(id)?.hostConfig as { Dns?: string[] } | undefined)?.Dns,
    log: log.child({ component: 'dns' }),
    isRealized: (n) => engine.networks.isRealized(n),
  });
  dns.follow(); // opens and closes a listener per user-defined network as networks come and go
  // Host routes and resolvers change rarely; refreshing them off the request path keeps it fast.
  const routeTimer = setInterval(() => {
    void readHostRoutes(kernel).then((r) => (hostRoutes = r), () => undefined);
    upstreams = pickUpstreams();
  }, 5000);
  routeTimer.unref();

  const server = createApiServer(buildApi(engine), log);
  // Upgraded (attach/exec) connections are not the http server's any more: track them to end them at shutdown.
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    hijacked.add(socket);
    socket.on('close', () => hijacked.delete(socket));
  });
  const socketPath = config.host.replace(/^unix:\/\//, '');
  mkdirSync(dirname(socketPath), { recursive: true });
  if (existsSync(socketPath)) unlinkSync(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  log.info({ socket: socketPath, dataRoot: config.dataRoot, execRoot: config.execRoot }, 'weftd listening');

  return async () => {
    clearInterval(routeTimer);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of hijacked) socket.destroy();
    await closed;
    await dns.closeAll();
    engine.registry.db.close();
  };
}

async function main(): Promise<void> {
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
  const stop = await runDaemon(config);
  const shutdown = () => {
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`weftd: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
