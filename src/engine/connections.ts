import { forbidden, invalid, systemError } from './errors.js';
import { attachmentFor, ERR_HOST_NETWORK, ERR_NONE_NETWORK, type EndpointSettings } from './attachments.js';
import type { ContainerService } from './containers.js';
import type { Serial } from './lock.js';
import type { Registry } from './registry.js';
import type { SandboxService } from './sandbox.js';

// Live connect/disconnect (`docker network connect|disconnect`): the container's wish list is
// updated first, then the kernel if it is running, then its /etc files.
export class ConnectionService {
  constructor(
    private readonly deps: { registry: Registry; sandboxes: SandboxService; containers: ContainerService; serial: Serial },
  ) {}

  connect(netRef: string, containerRef: string, settings: EndpointSettings | null): Promise<void> {
    const { registry, sandboxes, containers, serial } = this.deps;
    return serial.run(async () => {
      const net = registry.findNetwork(netRef);
      const c = registry.findContainer(containerRef);
      if (c.networkMode === 'host' || net.driver === 'host') throw invalid(ERR_HOST_NETWORK);
      const current = c.networks.map((a) => registry.networks.byId.get(a.networkId));
      if (net.driver === 'null' || current.some((n) => n?.driver === 'null')) throw invalid(ERR_NONE_NETWORK);
      if (c.networks.some((a) => a.networkId === net.id)) throw forbidden(`endpoint with name ${c.name} already exists in network ${net.name}`);
      const att = attachmentFor(net, settings);
      c.networks.push(att);
      registry.containers.put(c);
      if (c.state.status !== 'running') return;
      try {
        await sandboxes.join(c, att);
      } catch (err) {
        c.networks = c.networks.filter((a) => a !== att);
        registry.containers.put(c);
        throw err;
      }
      containers.writeFiles(c);
    });
  }

  disconnect(netRef: string, containerRef: string): Promise<void> {
    const { registry, sandboxes, containers, serial } = this.deps;
    return serial.run(async () => {
      const net = registry.findNetwork(netRef);
      const c = registry.findContainer(containerRef);
      if (c.networkMode === 'host' || net.driver === 'host') throw invalid(ERR_HOST_NETWORK);
      const att = c.networks.find((a) => a.networkId === net.id);
      if (!att) throw systemError(`container ${c.id} is not connected to network ${net.name}`);
      c.networks = c.networks.filter((a) => a !== att);
      registry.containers.put(c);
      const ep = registry.endpointsOfContainer(c.id).find((e) => e.networkId === net.id);
      if (ep) await sandboxes.leave(c, ep);
      if (c.state.status === 'running') containers.writeFiles(c);
    });
  }
}
