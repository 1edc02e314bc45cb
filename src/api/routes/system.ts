import { cpus, hostname, release, totalmem } from 'node:os';
import type { Engine } from '../../engine/engine.js';
import { API_VERSION, MIN_API_VERSION, type Router } from '../router.js';

export const WEFT_VERSION = '0.1.0';

export function systemRoutes(router: Router, engine: Engine): void {
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

  router.add('GET', '/info', () => {
    const all = engine.registry.containers.all();
    const running = all.filter((c) => c.state.status === 'running').length;
    return {
      ID: engine.registry.networks.all().find((n) => n.name === 'bridge')?.id.slice(0, 36) ?? '',
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: all.length - running,
      Images: engine.images.list().length,
      Driver: 'overlay',
      DriverStatus: [],
      Plugins: { Volume: [], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['k8s-file'] },
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
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      SecurityOptions: ['name=seccomp,profile=default'],
      Warnings: [],
    };
  });
}
