import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { EndpointRecord, NetworkRecord } from '../../common/model.js';
import { forbidden, systemError, unavailable } from '../../common/errors.js';
import type { Cluster, ClusterNode } from '../../cluster/cluster.js';
import { NET_PREFIX, type NetKeys } from '../../cluster/net-keys.js';
import { msg } from '../../cluster/messages.js';
import { NO_LEADER, storeCall } from '../../cluster/kv.js';
import { throwUnexpected } from '../../kernel/base.js';
import type { Kernel, Step } from '../../kernel/types.js';
import type { DriverCapabilities, JoinOptions, NetworkDriver } from '../driver.js';
import { joinSteps, leaveSteps, networkDownSteps, networkUpSteps, peerAddSteps, peerDelSteps, type Peer } from './commands.js';
import { configOf, overlayState, parseOverlayOptions, type OverlayConfig } from './options.js';
import { PeerTable } from './peers.js';

// Docker's overlay driver: networks shared by every host of the cluster, containers on different
// hosts on one L2 segment carried in VXLAN between the hosts' underlay addresses. The network
// record and its VNI are the cluster's (etcd); each host makes the network's kernel objects at
// its first local join and removes them after its last leave (as libnetwork does). Every local
// endpoint is published as a peer record on this node's lease; every other host programs it as a
// static FDB + neighbour entry. Containers get their way out through docker_gwbridge (the engine
// connects them: capability `wayOut: 'gwbridge'`).

export interface OverlayDriverOptions {
  kernel: Kernel;
  cluster: Cluster;
  keys: NetKeys;
  execRoot: string;
  log: Logger;
  /** A local container's name, for the peer records other hosts' DNS serves. */
  nameOf?: (containerId: string) => string | undefined;
}

const VNI_FIRST = 4097; // swarm's overlay VNIs start above 4096 (swarmkit cnmallocator)
const VNI_LAST = (1 << 24) - 1;

export class OverlayDriver implements NetworkDriver {
  readonly name = 'overlay';
  readonly capabilities: DriverCapabilities = { scope: 'global', ipam: true, singleton: false, publishesPorts: false, dns: 'names', sandbox: 'interface', wayOut: 'gwbridge' };
  readonly peers = new PeerTable(`${NET_PREFIX}peers/`);
  /** Networks whose namespace exists here, and the local endpoints on each. */
  private readonly realized = new Map<string, { net: NetworkRecord; cfg: OverlayConfig; eps: Set<string> }>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: OverlayDriverOptions) {
    this.peers.onChange((c) => {
      if (c.peer.node === opts.cluster.nodeId) {
        // Our own endpoint removed by another host (it took this one for gone): put it back.
        if (c.type === 'delete') void opts.keys.reassert(this.peers.key(c.peer.netId, c.peer.epId)).catch(() => undefined);
        return;
      }
      void this.serial(() => this.programPeer(c.type, c.peer)).catch((err) => opts.log.warn({ err: String(err) }, 'overlay peer not programmed'));
    });
    opts.cluster.on('nodeGone', (n) => void this.removeNodePeers(n));
  }

  /** The namespace holding a network's bridge and VXLAN device (Docker's 1-<id>). */
  /**
   * A network's first join. The kernel frees a deleted namespace's VXLAN socket asynchronously:
   * right after this host's last leave (a container restart) the VNI may still be taken for a
   * moment ("A VXLAN device with the specified VNI already exists"), so that answer is retried
   * briefly (the plan starts by removing what a failed attempt made).
   */
  private async applyUp(plan: Step[], first: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.kernel.apply(plan);
        return;
      } catch (err) {
        if (!first || attempt >= 20 || !/VNI already exists/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  nsPath(netId: string): string {
    return join(this.opts.execRoot, 'overlay', `1-${netId.slice(0, 10)}`);
  }

  /** The cluster's store changed (joined, left, a new client after a role change): follow the new one. */
  async followCluster(): Promise<void> {
    const etcd = this.opts.cluster.etcd;
    try {
      if (etcd) await this.peers.follow(etcd);
      else await this.peers.stop();
    } catch (err) {
      this.opts.log.warn({ err: String(err) }, 'overlay peers not followed yet; retrying');
      setTimeout(() => void this.followCluster(), 2000).unref();
    }
  }

  private etcd() {
    const etcd = this.opts.cluster.etcd;
    if (!etcd || !this.opts.cluster.addr) throw unavailable(msg.notManagerInactive);
    return etcd;
  }

  async prepareNetwork(net: NetworkRecord): Promise<Record<string, string>> {
    const { mtu } = parseOverlayOptions(net);
    // An unreachable store fails fast with swarm's text (503), not a gRPC error.
    return storeCall(NO_LEADER, async () => {
      const vni = await this.allocateVni(net.id);
      const { port } = await this.opts.keys.swarmSettings();
      return overlayState({ vni, mtu, port });
    });
  }

  /** The lowest free VNI, claimed with a create-if-absent transaction (never one in use). */
  private async allocateVni(netId: string): Promise<number> {
    const etcd = this.etcd();
    const prefix = `${NET_PREFIX}vni/`;
    for (let attempt = 0; attempt < 16; attempt++) {
      const used = new Set((await etcd.getAll().prefix(prefix).keys()).map((k) => Number(k.slice(prefix.length))));
      let vni = VNI_FIRST;
      while (used.has(vni) && vni < VNI_LAST) vni++;
      const res = await etcd.if(prefix + vni, 'Create', '==', 0).then(etcd.put(prefix + vni).value(netId)).commit();
      if (res.succeeded) return vni;
    }
    throw unavailable('could not allocate a VXLAN ID: too many concurrent network creations');
  }

  /** Nothing to make until the first local join (lazy, like Docker's overlay sandbox). */
  async createNetwork(): Promise<void> {}

  /** Refused while any host of the cluster still has an endpoint on it (Docker's text). */
  async checkRemove(net: NetworkRecord): Promise<void> {
    const remote = this.peers.ofNetwork(net.id);
    if (remote.length) throw forbidden(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
  }

  async deleteNetwork(net: NetworkRecord): Promise<void> {
    const cfg = configOf(net);
    await this.serial(() => this.unrealize(net.id));
    const etcd = this.opts.cluster.etcd;
    if (cfg && etcd) {
      const key = `${NET_PREFIX}vni/${cfg.vni}`;
      await etcd.if(key, 'Value', '==', net.id).then(etcd.delete().key(key)).commit();
    }
  }

  async join(net: NetworkRecord, ep: EndpointRecord, netnsPath: string, opts: JoinOptions): Promise<void> {
    const cfg = this.configOrThrow(net);
    const local = this.opts.cluster.addr;
    const node = this.opts.cluster.nodeId;
    if (!local || !node) throw unavailable(msg.notManagerInactive);
    await this.serial(async () => {
      const ns = this.nsPath(net.id);
      let state = this.realized.get(net.id);
      const plan: Step[] = [];
      if (!state) {
        plan.push(...networkUpSteps(net, cfg, ns, local));
        for (const p of this.peers.ofNetwork(net.id)) if (p.node !== node) plan.push(...peerAddSteps(net, cfg, ns, p));
      }
      plan.push(...joinSteps(cfg, ep, ns, netnsPath));
      try {
        await this.applyUp(plan, !state);
      } catch (err) {
        if (!state) await this.opts.kernel.apply(networkDownSteps(ns), { force: true }).catch(() => undefined);
        throw systemError(`join ${net.name}: ${(err as Error).message}`);
      }
      if (!state) this.realized.set(net.id, (state = { net, cfg, eps: new Set() }));
      state.eps.add(ep.id);
    });
    try {
      this.etcd();
      await storeCall(NO_LEADER, () => this.publish(net, ep, opts.containerName));
    } catch (err) {
      await this.leave(net, ep, netnsPath).catch(() => undefined);
      throw err;
    }
  }

  async leave(net: NetworkRecord, ep: EndpointRecord, _netnsPath?: string | null): Promise<void> {
    const etcd = this.opts.cluster.etcd;
    const errors: unknown[] = [];
    if (etcd) await this.opts.keys.deleteLeased(this.peers.key(net.id, ep.id)).catch((err: unknown) => errors.push(err));
    await this.serial(async () => {
      const state = this.realized.get(net.id);
      const failures = await this.opts.kernel.apply(leaveSteps(ep, this.nsPath(net.id)), { force: true });
      if (failures.length) errors.push(new Error(failures.map((f) => f.message).join('; ')));
      state?.eps.delete(ep.id);
      if (state && state.eps.size === 0) await this.unrealize(net.id);
    });
    if (errors.length) throw systemError(`leave ${net.name}: ${errors.map(String).join('; ')}`);
  }

  /**
   * At daemon start global networks are not known yet (the cluster store is attached after the
   * engine started): the engine's restore gives nothing. adopt() does the work once it is.
   */
  async restore(): Promise<void> {}

  /**
   * The cluster store is attached: local endpoints on its networks (containers that ran through
   * a weftd restart) are taken over: each network's namespace is adopted if it is still there
   * (re-made with the endpoints' veths if not), the remote peers programmed, and the endpoints
   * published again on this run's lease.
   */
  async adopt(nets: NetworkRecord[], endpoints: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {
    const local = this.opts.cluster.addr;
    const node = this.opts.cluster.nodeId;
    if (!local || !node) return;
    for (const net of nets) {
      const eps = (endpoints.get(net.id) ?? []).filter((e) => e.netnsPath);
      const cfg = configOf(net);
      if (!cfg || !eps.length) continue;
      await this.serial(async () => {
        if (this.realized.has(net.id)) return;
        const ns = this.nsPath(net.id);
        const plan: Step[] = [];
        if (!(await this.opts.kernel.netnsExists(ns))) {
          plan.push(...networkUpSteps(net, cfg, ns, local));
          for (const { ep, netnsPath } of eps) plan.push(...joinSteps(cfg, ep, ns, netnsPath));
        }
        for (const p of this.peers.ofNetwork(net.id)) if (p.node !== node) plan.push(...peerAddSteps(net, cfg, ns, p));
        throwUnexpected(`adopt overlay ${net.name}`, await this.opts.kernel.apply(plan, { force: true }));
        this.realized.set(net.id, { net, cfg, eps: new Set(eps.map((e) => e.ep.id)) });
      });
      for (const { ep } of eps) await this.publish(net, ep, this.opts.nameOf?.(ep.containerId));
    }
  }

  private async publish(net: NetworkRecord, ep: EndpointRecord, name: string | undefined): Promise<void> {
    const node = this.opts.cluster.nodeId!;
    const peer: Peer = { netId: net.id, epId: ep.id, node, vtep: this.opts.cluster.addr!, ip: ep.ipv4.split('/')[0], mac: ep.mac, containerId: ep.containerId, name: name ?? '', aliases: ep.aliases };
    await this.opts.keys.putLeased(this.peers.key(net.id, ep.id), JSON.stringify(peer));
  }

  /** This node left its cluster: every overlay namespace here goes (the containers' overlay interfaces with them). */
  async dropAll(): Promise<void> {
    await this.serial(async () => {
      for (const id of [...this.realized.keys()]) await this.unrealize(id).catch((err) => this.opts.log.warn({ network: id, err: String(err) }, 'overlay namespace not removed'));
    });
  }

  private async unrealize(netId: string): Promise<void> {
    this.realized.delete(netId);
    throwUnexpected(`remove overlay namespace of ${netId}`, await this.opts.kernel.apply(networkDownSteps(this.nsPath(netId)), { force: true }));
  }

  /** A remote endpoint appeared or went: its FDB and neighbour entries follow, where the network is realized here. */
  private async programPeer(type: 'put' | 'delete', p: Peer): Promise<void> {
    if (p.node === this.opts.cluster.nodeId) return;
    const state = this.realized.get(p.netId);
    if (!state) return;
    const ns = this.nsPath(p.netId);
    const steps = type === 'put' ? peerAddSteps(state.net, state.cfg, ns, p) : peerDelSteps(state.net, state.cfg, ns, p);
    throwUnexpected(`program peer ${p.ip}`, await this.opts.kernel.apply(steps, { force: true }));
  }

  /** A node left or died: its endpoints are removed from the store (its lease would, later). */
  private async removeNodePeers(n: ClusterNode): Promise<void> {
    const etcd = this.opts.cluster.etcd;
    if (!etcd) return;
    for (const p of this.peers.all()) {
      if (p.node !== n.id) continue;
      await etcd.delete().key(this.peers.key(p.netId, p.epId)).exec().catch(() => undefined);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private configOrThrow(net: NetworkRecord): OverlayConfig {
    const cfg = configOf(net);
    if (!cfg) throw systemError(`network ${net.name} (${net.id}) has no overlay state`);
    return cfg;
  }
}
