import { cpus, hostname, release, totalmem } from 'node:os';
import type { Engine } from '../../engine/engine.js';
import { isDefaultBridge } from '../../common/model.js';
import { containerListJson } from '../format/container.js';
import { API_VERSION, MIN_API_VERSION, type Router } from '../router.js';

export const WEFT_VERSION = '0.1.0';

export function systemRoutes(router: Router, engine: Engine, swarmInfo: () => object | undefined = () => undefined): void {
  const ping = (_ctx: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, {
      'Api-Version': API_VERSION,
      'Builder-Version': '1',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': '2',
    });
    res.end('OK');
  };
  router.add('GET', '/_ping', ping);
  router.add('HEAD', '/_ping', ping);

  router.add('GET', '/version', () => ({
    Platform: { Name: 'weft' },
    Components: [{ Name: 'Engine', Version: WEFT_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64', KernelVersion: release() } }],
    Version: WEFT_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: release(),
    BuildTime: '',
  }));

  // docker system df: images and containers weft holds (it keeps no volumes or build cache).
  router.add('GET', '/system/df', (ctx) => {
    const containers = engine.registry.containers.all();
    const images = engine.images.list().map((img): Record<string, unknown> => ({ ...img, SharedSize: 0, Containers: containers.filter((c) => c.imageId === img.Id).length }));
    return {
      LayersSize: images.reduce((sum, img) => sum + Number(img.Size), 0),
      Images: images,
      Containers: containers.map((c) => ({ ...containerListJson(c, engine.registry, ctx.version), SizeRw: 0, SizeRootFs: Number(images.find((i) => i.Id === c.imageId)?.Size ?? 0) })),
      Volumes: [],
      BuildCache: [],
    };
  });

  router.add('GET', '/info', () => {
    const all = engine.registry.containers.all();
    const running = all.filter((c) => c.state.status === 'running').length;
    return {
      ID: engine.registry.networks.all().find(isDefaultBridge)?.id.slice(0, 36) ?? '',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: engine.images.list().length,
      Driver: 'overlay',
      DriverStatus: [],
      Plugins: { Volume: [], Network: engine.opts.drivers.all().map((d) => d.name).sort(), Authorization: null, Log: ['k8s-file'] },
      MemoryLimit: false,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      IPv4Forwarding: true,
      BridgeNfIptables: true,
      BridgeNfIp6tables: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'k8s-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: '1',
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: 'weft',
      OSVersion: '',
      OSType: 'linux',
      Architecture: 'x86_64',
      IndexServerAddress: '',
      RegistryConfig: null,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      DockerRootDir: engine.opts.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: WEFT_VERSION,
      Runtimes: { runc: { path: 'runc' } },
      DefaultRuntime: 'runc',
      Swarm: swarmInfo() ?? { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      SecurityOptions: ['name=seccomp,profile=default'],
      Warnings: [],
    };
  });
}
