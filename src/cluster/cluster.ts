import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';

// What the layers above (the overlay driver, global IPAM, the engine) see of the cluster: the
// shared etcd client, this node's identity and address, who else is there, and when a node is
// gone. Two implementations: Swarm (docker swarm init/join; managers run etcd members) and
// StoreCluster (weftd --cluster-store etcd://...: the user's own etcd, no swarm commands).

export type ClusterMode = 'none' | 'swarm' | 'store';
/** 'manager'/'worker' in a swarm; 'none' outside one (and with --cluster-store, which has no roles). */
export type ClusterRole = 'manager' | 'worker' | 'none';

export interface ClusterNode {
  id: string;
  /** Advertise address, no port: where its etcd is and where overlay traffic goes. */
  addr: string;
  /** 'none' for a node of a --cluster-store cluster, which has no roles. */
  role: 'manager' | 'worker' | 'none';
  hostname: string;
  alive: boolean;
}

export interface ClusterEvents {
  /** Membership or liveness changed; the argument is the new snapshot. */
  nodes: [nodes: ClusterNode[]];
  /** A node left or stopped heartbeating (lease expired): remove its endpoints from this host. */
  nodeGone: [node: ClusterNode];
  /** This node's role or mode changed (init, join, leave, promote, demote). */
  role: [role: ClusterRole];
}

export interface Cluster extends EventEmitter<ClusterEvents> {
  readonly mode: ClusterMode;
  readonly role: ClusterRole;
  /** This node's ID (swarm node ID, or the store node's persistent ID); undefined outside a cluster. */
  readonly nodeId: string | undefined;
  readonly addr: string | undefined;
  /**
   * The etcd client, undefined outside a cluster. It is replaced when this node's role changes
   * (a 'role' event follows): read it at each use rather than keeping it. Keys under /weft/ are
   * the cluster layer's; the overlay should use its own prefix (e.g. /weft/net/).
   */
  readonly etcd: Etcd3 | undefined;
  nodes(): ClusterNode[];
}

/** The cluster of a weftd started with neither swarm state nor --cluster-store. */
export class NoCluster extends EventEmitter<ClusterEvents> implements Cluster {
  readonly mode = 'none' as const;
  readonly role = 'none' as const;
  readonly nodeId = undefined;
  readonly addr = undefined;
  readonly etcd = undefined;
  nodes(): ClusterNode[] {
    return [];
  }
}
