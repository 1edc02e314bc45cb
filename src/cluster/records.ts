import type { SwarmRole } from './pki.js';

// What weft keeps in etcd about the swarm and its nodes. Docker's Version.Index of an object is
// the etcd mod_revision of its key, so ?version=N updates are compare-and-set on that revision.

export interface SwarmSpec {
  Name: string;
  Labels: Record<string, string>;
  [key: string]: unknown;
}

export interface ClusterRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  spec: SwarmSpec;
  caCert: string;
  workerSecret: string;
  managerSecret: string;
  dataPathPort: number;
  subnetSize: number;
  defaultAddrPool: string[] | null;
}

export interface NodeSpec {
  Name?: string;
  Labels: Record<string, string>;
  Role: SwarmRole;
  Availability: 'active' | 'pause' | 'drain';
}

export interface NodeRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  spec: NodeSpec;
  hostname: string;
  engineVersion: string;
  nanoCpus: number;
  memoryBytes: number;
  /** Advertise address (no port): etcd peer and client URLs, the overlay's data path. */
  addr: string;
  /** addr:port of its join listener, while a manager. */
  managerAddr: string;
}

/** A record with the revision it was read at. */
export interface Versioned<T> {
  value: T;
  version: number;
}

/** swarmkit's defaults, as GET /swarm shows them after a plain `docker swarm init`. */
export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5000000000 },
    CAConfig: { NodeCertExpiry: 7776000000000000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

/**
 * A requested spec over the current one, as swarmkit fills defaults: a zero value (null, 0, "",
 * false in a nested object the client sent empty) keeps what is there; objects merge key by key.
 */
export function mergeSpec<T>(base: T, req: unknown): T {
  if (req === null || req === undefined || req === 0 || req === '') return base;
  if (typeof req !== 'object' || Array.isArray(req) || base === null || typeof base !== 'object' || Array.isArray(base)) return req as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(req as Record<string, unknown>)) out[k] = mergeSpec(out[k], v);
  return out as T;
}

/** Quorum of n voting members, as raft counts it. */
export const quorum = (n: number) => Math.floor(n / 2) + 1;
