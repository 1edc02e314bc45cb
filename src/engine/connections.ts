import { conflict, forbidden, invalid } from '../common/errors.js';
import { attachmentFor, ERR_HOST_NETWORK, ERR_NONE_NETWORK, ERR_SHARED_NETWORK, type EndpointSettings } from './attachments.js';
import type { ContainerService } from './containers.js';
import type { Serial } from './lock.js';
import type { NetworkRecord } from '../common/model.js';
import type { Registry } from './registry.js';
import type { SandboxKind, SandboxService } from './sandbox.js';
import { faultPoint } from '../common/faults.js';

// Live connect/disconnect (`docker network connect|disconnect`): the container's wish list is
// updated first, then the kernel if it is running, then its /etc files. The checks and their
// order are dockerd 20.10's (daemon/container_operations.go): the container is looked up before
// the network; a stopped container only has its settings updated.
export class ConnectionService {
  constructor(
    private readonly deps: { registry: Registry; sandboxes: SandboxService; containers: ContainerService; serial: Serial },
  ) {}

  connect(netRef: string, containerRef: string, settings: EndpointSettings | null): Promise<void> {
    const { registry, sandboxes, containers, serial } = this.deps;
    return serial.run(async () => {
      const c = registry.findContainer(containerRef);
      const net = registry.findNetwork(netRef);
      const running = c.state.status === 'running';
      if (running && c.networkMode.startsWith('container:')) throw invalid(ERR_SHARED_NETWORK);
      const att = attachmentFor(net, settings); // validateNetworkingConfig
      if (sandboxes.kind(c) !== 'host' && sandboxes.kindOf(net) === 'host') throw invalid(ERR_HOST_NETWORK);
      for (const current of c.networks) {
        const cur = registry.networks.byId.get(current.networkId);
        if (!cur) continue;
        if (cur.id === net.id) {
          // Stopped: nothing to do (dockerd keeps the first settings). Running: libnetwork refuses.
          if (!running) return;
          throw forbidden(`endpoint with name ${c.name} already exists in network ${net.name}`);
        }
        if (!isPrivate(sandboxes.kindOf(cur), c.networkMode) || !isPrivate(sandboxes.kindOf(net), '')) throw invalid(ERR_SHARED_NETWORK);
        if (sandboxes.kindOf(cur) === 'isolated' || sandboxes.kindOf(net) === 'isolated') throw invalid(ERR_NONE_NETWORK);
      }
      c.networks.push(att);
      await registry.containers.put(c);
      if (!running) return;
      faultPoint('network.connect.after-record');
      try {
        await sandboxes.join(c, att);
      } catch (err) {
        c.networks = c.networks.filter((a) => a !== att);
        await registry.containers.put(c);
        throw err;
      }
      faultPoint('network.connect.after-join');
      containers.writeFiles(c);
    });
  }

  disconnect(netRef: string, containerRef: string, force = false): Promise<void> {
    const { registry, sandboxes, containers, serial } = this.deps;
    return serial.run(async () => {
      const c = registry.findContainer(containerRef);
      const running = c.state.status === 'running';
      let net: NetworkRecord | undefined;
      let lookupError: unknown;
      try {
        net = registry.findNetwork(netRef);
      } catch (err) {
        lookupError = err;
      }
      if (!running || (!net && force)) {
        // dockerd only edits the stored settings here, and names the network as it was given.
        const att = net && c.networks.find((a) => a.networkId === net!.id);
        if (!net || !att) throw conflict(`container ${c.id} is not connected to the network ${netRef}`);
        if (sandboxes.kindOf(net) === 'host') throw invalid(ERR_HOST_NETWORK);
        c.networks = c.networks.filter((a) => a !== att);
        await registry.containers.put(c);
        return;
      }
      if (!net) throw lookupError;
      if (sandboxes.kindOf(net) === 'host') throw invalid(ERR_HOST_NETWORK);
      const att = c.networks.find((a) => a.networkId === net!.id);
      // dockerd: a plain error, so 500; it is the client's mistake (issue 11): 409, same text
      if (!att) throw conflict(`container ${c.id} is not connected to network ${net.name}`);
      c.networks = c.networks.filter((a) => a !== att);
      await registry.containers.put(c);
      faultPoint('network.disconnect.after-record');
      const ep = registry.endpointsOfContainer(c.id).find((e) => e.networkId === net!.id);
      if (ep) await sandboxes.disconnect(c, ep);
      faultPoint('network.disconnect.after-leave');
      containers.writeFiles(c);
    });
  }
}

/** Docker's NetworkMode.IsPrivate: neither the host's namespace nor another container's. */
function isPrivate(kind: SandboxKind, mode: string): boolean {
  return kind !== 'host' && !mode.startsWith('container:');
}
