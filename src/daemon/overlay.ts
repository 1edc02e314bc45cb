import type { Etcd3 } from 'etcd3';
import type { Logger } from '../common/log.js';
import type { Cluster } from '../cluster/cluster.js';
import type { SwarmHooks } from '../cluster/swarm.js';
import { NET_PREFIX, type NetKeys } from '../cluster/net-keys.js';
import type { OverlayDriver } from '../drivers/overlay/index.js';
import { GWBRIDGE, gatewayBridgeRequest, type Engine } from '../engine/engine.js';
import { EtcdStore } from '../store/etcd.js';
import type { EndpointRecord } from '../common/model.js';

// Joins the engine to its cluster's store: while this node is in a cluster, global networks are
// read from and written to etcd (under /weft/net/) and the overlay driver follows the peers
// there; the swarm hooks make Docker's swarm networks (ingress at init, docker_gwbridge on every
// node), and leaving forgets the cluster's networks and gives this node's lease up.

export class OverlayWiring {
  private attached: { etcd: Etcd3; store: EtcdStore } | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly cluster: Cluster,
    private readonly driver: OverlayDriver,
    private readonly keys: NetKeys,
    private readonly log: Logger,
  ) {
    const resync = () => void this.sync().catch((err) => log.warn({ err: String(err) }, 'cluster store not attached yet'));
    cluster.on('role', resync);
    cluster.on('nodes', resync);
  }

  readonly hooks: SwarmHooks = {
    createSwarmNetworks: async (_swarm, how) => {
      await this.sync();
      await this.ensureSwarmNetworks(how);
    },
    removeSwarmNetworks: async () => {
      await this.keys.revoke();
      await this.sync();
    },
  };

  /** Attaches the current store (or detaches when there is none); idempotent. */
  sync(): Promise<void> {
    const run = this.chain.then(() => this.syncNow());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<void> {
    const inCluster = this.cluster.mode !== 'none' && !(this.cluster.mode === 'swarm' && this.cluster.role === 'none');
    const etcd = inCluster ? this.cluster.etcd : undefined;
    if (this.attached && this.attached.etcd === etcd) return;
    if (this.attached) {
      if (!etcd) await this.driver.dropAll(); // left the cluster (a new client keeps everything)
      this.engine.registry.detachGlobal();
      await this.attached.store.close();
      this.attached = null;
    }
    if (etcd) {
      const store = new EtcdStore(etcd, NET_PREFIX);
      await this.engine.registry.attachGlobal(store);
      this.attached = { etcd, store };
      await this.adoptLocal();
      this.log.info({ networks: this.engine.registry.networks.all().filter((n) => n.scope !== 'local').length }, 'cluster networks attached');
    }
    this.keys.clientChanged();
    await this.driver.followCluster();
  }

  /**
   * Local endpoints on global networks (their containers ran through a weftd restart): their
   * addresses are claimed again (replayed) and the driver takes their kernel objects over.
   */
  private async adoptLocal(): Promise<void> {
    const { registry, networks, ipam } = this.engine;
    const nets = registry.networks.all().filter((n) => n.scope !== 'local' && n.driver === this.driver.name);
    const eps = new Map<string, { ep: EndpointRecord; netnsPath: string }[]>();
    for (const net of nets) {
      const list = registry.endpointsOfNetwork(net.id).map((ep) => ({ ep, netnsPath: registry.containers.byId.get(ep.containerId)?.netnsPath ?? '' }));
      if (!list.length) continue;
      eps.set(net.id, list);
      await networks.ensurePools(net);
      for (const { ep } of list) if (ep.ipv4) await ipam.markAllocated(net.id, ep.ipv4).catch((err) => this.log.warn({ ep: ep.id, err: String(err) }, 'overlay address not claimed again'));
    }
    await this.driver.followCluster();
    await this.driver.adopt(nets, eps).catch((err) => this.log.error({ err: String(err) }, 'overlay endpoints not adopted'));
  }

  /** Docker's swarm networks: docker_gwbridge on every node, ingress made by the first manager. */
  private async ensureSwarmNetworks(how: 'init' | 'join' | 'resume'): Promise<void> {
    const { registry, networks } = this.engine;
    const has = (name: string) => registry.networks.all().some((n) => n.name === name);
    if (!has(GWBRIDGE)) await networks.create(gatewayBridgeRequest());
    if (how === 'init' && !has('ingress')) {
      await networks.create({ Name: 'ingress', Driver: 'overlay', Ingress: true, Scope: 'swarm', IPAM: { Driver: 'default', Config: [], Options: null } });
    }
  }
}
