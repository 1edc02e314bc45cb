import { WeftError, invalid, notFound } from '../common/errors.js';
import { nowRfc3339Nano } from '../common/time.js';
import { keys, NO_LEADER, retryReconfig, storeCall } from './kv.js';
import { failedPrecondition, msg, unavailable } from './messages.js';
import { tlsInfo } from './pki.js';
import { mergeSpec, quorum, type ClusterRecord, type NodeRecord, type NodeSpec, type SwarmSpec, type Versioned } from './records.js';
import type { Swarm } from './swarm.js';
import { caDigest, joinToken, newSecret } from './tokens.js';

// The manager's answers to the swarm and node endpoints, in Docker's JSON shapes
// (test/fixtures/dockerd/swarm/). Reads go to etcd, so they fail fast with Docker's
// "no leader" text when the managers have no quorum; GET /info reads the watched cache only.

const PLUGINS = [
  { Type: 'Log', Name: 'k8s-file' },
  { Type: 'Network', Name: 'bridge' },
  { Type: 'Network', Name: 'host' },
  { Type: 'Network', Name: 'macvlan' },
  { Type: 'Network', Name: 'null' },
];

/** Throws Docker's 503 unless this node is a manager; returns its etcd client. */
export function requireManager(swarm: Swarm) {
  if (swarm.role === 'none') throw unavailable(msg.notManagerInactive);
  if (swarm.role !== 'manager') throw unavailable(msg.notManagerWorker);
  if (!swarm.etcd) throw unavailable(NO_LEADER);
  return swarm.etcd;
}

async function readCluster(swarm: Swarm): Promise<Versioned<ClusterRecord>> {
  const etcd = requireManager(swarm);
  const res = await storeCall(NO_LEADER, () => etcd.getAll().prefix(keys.cluster).exec());
  const kv = res.kvs.find((k) => k.key.toString() === keys.cluster);
  if (!kv) throw unavailable(NO_LEADER);
  return { value: JSON.parse(kv.value.toString()) as ClusterRecord, version: Number(kv.mod_revision) };
}

function clusterInfoJson(c: Versioned<ClusterRecord>) {
  const r = c.value;
  return {
    ID: r.id, Version: { Index: c.version }, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Spec: r.spec, TLSInfo: tlsInfo(r.caCert),
    RootRotationInProgress: false, DefaultAddrPool: r.defaultAddrPool, SubnetSize: r.subnetSize, DataPathPort: r.dataPathPort,
  };
}

export async function inspectSwarm(swarm: Swarm) {
  const c = await readCluster(swarm);
  const digest = caDigest(c.value.caCert);
  return { ...clusterInfoJson(c), JoinTokens: { Worker: joinToken(digest, c.value.workerSecret), Manager: joinToken(digest, c.value.managerSecret) } };
}

function parseVersion(what: 'node' | 'swarm', raw: string | null): number {
  const v = raw ?? '';
  if (!/^\d+$/.test(v)) throw invalid(msg.badVersion(what, v));
  return Number(v);
}

/** A compare-and-set on the key's revision: Docker's ?version=N. */
async function casPut(swarm: Swarm, key: string, version: number, value: unknown): Promise<void> {
  const etcd = requireManager(swarm);
  const res = await storeCall(NO_LEADER, () => etcd.if(key, 'Mod', '==', version).then(etcd.put(key).value(JSON.stringify(value))).commit());
  if (!res.succeeded) throw new WeftError('System', msg.outOfSequence);
}

export async function updateSwarm(swarm: Swarm, query: URLSearchParams, spec: Partial<SwarmSpec>): Promise<void> {
  const version = parseVersion('swarm', query.get('version'));
  const c = await readCluster(swarm);
  if (c.version !== version) throw new WeftError('System', msg.outOfSequence);
  const flag = (k: string) => ['1', 'true', 'True'].includes(query.get(k) ?? '');
  const next: ClusterRecord = {
    ...c.value,
    spec: { ...mergeSpec(c.value.spec, spec), Name: 'default' },
    updatedAt: nowRfc3339Nano(),
    workerSecret: flag('rotateWorkerToken') ? newSecret() : c.value.workerSecret,
    managerSecret: flag('rotateManagerToken') ? newSecret() : c.value.managerSecret,
  };
  await casPut(swarm, keys.cluster, version, next);
}

// ---- nodes

interface EtcdView {
  leaderName: string | undefined;
  /** Names of voting etcd members (started, not learners). */
  voters: Set<string>;
  memberIds: Map<string, string>;
}

async function etcdView(swarm: Swarm): Promise<EtcdView> {
  const etcd = requireManager(swarm);
  const [list, status] = await storeCall(NO_LEADER, () => Promise.all([etcd.cluster.memberList({}), etcd.maintenance.status({})]));
  const byId = new Map(list.members.map((m) => [m.ID, m.name]));
  return {
    leaderName: byId.get(status.leader),
    voters: new Set(list.members.filter((m) => m.name && !m.isLearner).map((m) => m.name)),
    memberIds: new Map(list.members.filter((m) => m.name).map((m) => [m.name, m.ID])),
  };
}

/** A node record as read, with whether its alive key exists. */
type LiveNode = Versioned<NodeRecord> & { alive: boolean };

async function readNodes(swarm: Swarm): Promise<LiveNode[]> {
  const etcd = requireManager(swarm);
  const [nodes, alive] = await storeCall(NO_LEADER, () => Promise.all([etcd.getAll().prefix(keys.nodes).exec(), etcd.getAll().prefix(keys.alive).keys()]));
  const up = new Set(alive.map((k) => k.slice(keys.alive.length)));
  return nodes.kvs.map((kv) => {
    const value = JSON.parse(kv.value.toString()) as NodeRecord;
    return { value, version: Number(kv.mod_revision), alive: up.has(value.id) };
  });
}

function nodeJson(n: LiveNode, caCert: string, view: EtcdView) {
  const r = n.value;
  const alive = n.alive;
  const out: Record<string, unknown> = {
    ID: r.id, Version: { Index: n.version }, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, Spec: r.spec,
    Description: {
      Hostname: r.hostname, Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: r.nanoCpus, MemoryBytes: r.memoryBytes },
      Engine: { EngineVersion: r.engineVersion, Plugins: PLUGINS }, TLSInfo: tlsInfo(caCert),
    },
    Status: alive ? { State: 'ready', Addr: r.addr } : { State: 'down', Message: 'heartbeat failure', Addr: r.addr },
  };
  if (r.spec.Role === 'manager' && r.managerAddr) {
    const reachable = alive && view.voters.has(r.id);
    out.ManagerStatus = { ...(view.leaderName === r.id ? { Leader: true } : {}), Reachability: reachable ? 'reachable' : 'unreachable', Addr: r.managerAddr };
  }
  return out;
}

function findNode(nodes: LiveNode[], ref: string): LiveNode {
  const exact = nodes.find((n) => n.value.id === ref);
  if (exact) return exact;
  const prefixed = nodes.filter((n) => n.value.id.startsWith(ref));
  if (prefixed.length === 1) return prefixed[0];
  const named = nodes.filter((n) => n.value.hostname === ref);
  if (named.length === 1 && prefixed.length === 0) return named[0];
  if (prefixed.length > 1 || named.length > 1) throw invalid(`node ${ref} is ambiguous (${prefixed.length + named.length} matches found)`);
  throw notFound(msg.nodeNotFound(ref));
}

export async function listNodes(swarm: Swarm, filters: Record<string, string[]>) {
  const [nodes, view, c] = await Promise.all([readNodes(swarm), etcdView(swarm), readCluster(swarm)]);
  const keep = (n: NodeRecord) =>
    (!filters.id || filters.id.some((f) => n.id.startsWith(f))) &&
    (!filters.name || filters.name.some((f) => n.hostname === f)) &&
    (!filters.role || filters.role.some((f) => n.spec.Role === f));
  return nodes.filter((n) => keep(n.value)).sort((a, b) => (a.value.id < b.value.id ? -1 : 1)).map((n) => nodeJson(n, c.value.caCert, view));
}

export async function inspectNode(swarm: Swarm, ref: string) {
  const [nodes, view, c] = await Promise.all([readNodes(swarm), etcdView(swarm), readCluster(swarm)]);
  return nodeJson(findNode(nodes, ref), c.value.caCert, view);
}

export async function removeNode(swarm: Swarm, ref: string, force: boolean): Promise<void> {
  const etcd = requireManager(swarm);
  const n = findNode(await readNodes(swarm), ref);
  const r = n.value;
  if (r.spec.Role === 'manager') throw failedPrecondition(msg.nodeIsManager(r.id));
  if (n.alive && !force) throw failedPrecondition(msg.nodeNotDown(r.id));
  await storeCall(NO_LEADER, () => etcd.if(keys.node(r.id), 'Mod', '==', n.version).then(etcd.delete().key(keys.node(r.id)), etcd.delete().key(keys.aliveOf(r.id))).commit());
}

const ROLES = ['manager', 'worker'];
const AVAILABILITIES = ['active', 'pause', 'drain'];

/** POST /nodes/{id}/update: labels, availability and role; a demotion removes the etcd member first. */
export async function updateNode(swarm: Swarm, ref: string, query: URLSearchParams, spec: Partial<NodeSpec>): Promise<void> {
  const version = parseVersion('node', query.get('version'));
  const etcd = requireManager(swarm);
  const nodes = await readNodes(swarm);
  const n = findNode(nodes, ref);
  const role = spec.Role ?? n.value.spec.Role;
  const availability = spec.Availability ?? n.value.spec.Availability;
  if (!ROLES.includes(role)) throw invalid(msg.badRole(String(role)));
  if (!AVAILABILITIES.includes(availability)) throw invalid(`invalid Availability: ${JSON.stringify(availability)}`);
  if (n.version !== version) throw new WeftError('System', msg.outOfSequence);
  const r = n.value;
  if (r.spec.Role === 'manager' && role === 'worker') {
    // raft.CanRemoveMember: the members left, counting only the reachable ones, must keep a quorum.
    const view = await etcdView(swarm);
    const memberId = view.memberIds.get(r.id);
    if (!memberId) throw new WeftError('NotFound', msg.notInMemberList);
    const up = new Set(nodes.filter((x) => x.alive).map((x) => x.value.id));
    const remaining = [...view.voters].filter((name) => name !== r.id);
    const reachable = remaining.filter((name) => up.has(name)).length;
    if (remaining.length === 0 || reachable < quorum(remaining.length)) throw failedPrecondition(msg.quorumLoss);
    await storeCall(NO_LEADER, () => retryReconfig(() => etcd.cluster.memberRemove({ ID: memberId })));
  }
  const next: NodeRecord = {
    ...r,
    spec: { ...(spec.Name !== undefined ? { Name: spec.Name } : {}), Labels: spec.Labels ?? {}, Role: role, Availability: availability },
    managerAddr: role === 'manager' ? r.managerAddr : '',
    updatedAt: nowRfc3339Nano(),
  };
  await casPut(swarm, keys.node(r.id), version, next);
}

/** GET /info's Swarm member, from the watched cache (no store call: /info must always answer). */
export function swarmInfo(swarm: Swarm): Record<string, unknown> {
  const m = swarm.members;
  const base = {
    NodeID: swarm.nodeId ?? '',
    NodeAddr: swarm.addr ?? '',
    LocalNodeState: swarm.localState,
    ControlAvailable: swarm.role === 'manager' && !!m,
    Error: swarm.lastError,
    RemoteManagers: m ? m.managers().filter((n) => n.value.managerAddr).map((n) => ({ NodeID: n.value.id, Addr: n.value.managerAddr })) : null,
  };
  if (swarm.role !== 'manager' || !m) return base;
  const managers = m.managers().length;
  const out: Record<string, unknown> = { ...base, Nodes: m.nodes.size, Managers: managers };
  if (m.cluster) out.Cluster = clusterInfoJson(m.cluster);
  if (managers === 2) out.Warnings = [msg.twoManagers];
  return out;
}
