import { readFileSync } from 'node:fs';
import { invalid } from '../common/errors.js';
import { nowRfc3339Nano } from '../common/time.js';
import { joinHostPort, SWARM_PORT } from './addr.js';
import { peerUrl } from './etcd.js';
import type { JoinRequest, JoinResponse } from './join-protocol.js';
import { keys, NO_LEADER, retryReconfig, storeCall } from './kv.js';
import { msg, unavailable } from './messages.js';
import { CA_KEY, signNodeCsr, type SwarmRole } from './pki.js';
import type { ClusterRecord, NodeRecord } from './records.js';
import type { Swarm } from './swarm.js';
import { caDigest, parseJoinToken, secretMatches, swarmId } from './tokens.js';

// A manager's side of a join: the token's secret is checked against the swarm's current ones
// (read from etcd, so a rotation on any manager counts at once), the node gets an ID and a
// certificate for its role, its record is written, and a joining manager becomes an etcd
// learner (no vote, so no quorum change) that it promotes itself once it has caught up.

export async function admit(swarm: Swarm, req: JoinRequest): Promise<JoinResponse> {
  const etcd = swarm.etcd;
  const clusterId = swarm.clusterId;
  if (!etcd || !clusterId || swarm.role !== 'manager') throw unavailable(msg.notManagerWorker);
  const rec = await storeCall(NO_LEADER, () => etcd.get(keys.cluster).string());
  if (!rec) throw unavailable(NO_LEADER);
  const cluster = JSON.parse(rec) as ClusterRecord;
  const token = parseJoinToken(String(req.token ?? ''));
  const role: SwarmRole | undefined =
    token.digest !== caDigest(cluster.caCert) ? undefined
    : secretMatches(token.secret, cluster.managerSecret) ? 'manager'
    : secretMatches(token.secret, cluster.workerSecret) ? 'worker'
    : undefined;
  if (!role) throw invalid(msg.badSecret);
  const nodeId = swarmId();
  const addr = String(req.addr);
  const cert = await signNodeCsr(swarm.dir('certificates'), String(req.csr), { nodeId, clusterId, role, addr });
  const now = nowRfc3339Nano();
  const node: NodeRecord = {
    id: nodeId, createdAt: now, updatedAt: now, spec: { Labels: {}, Role: role, Availability: req.availability ?? 'active' },
    hostname: String(req.hostname), engineVersion: String(req.engineVersion), nanoCpus: Number(req.nanoCpus) || 0, memoryBytes: Number(req.memoryBytes) || 0,
    addr, managerAddr: role === 'manager' ? joinHostPort({ host: addr, port: SWARM_PORT }) : '',
  };
  await storeCall(NO_LEADER, () => etcd.put(keys.node(nodeId)).value(JSON.stringify(node)).exec());
  const res: JoinResponse = { nodeId, clusterId, role, cert, members: [], clusterToken: clusterId };
  if (role === 'manager') {
    const added = await storeCall(NO_LEADER, () => retryReconfig(() => etcd.cluster.memberAdd({ peerURLs: [peerUrl(addr)], isLearner: true })));
    res.memberId = added.member.ID;
    res.caKey = readFileSync(swarm.dir('certificates', CA_KEY), 'utf8');
    res.members = added.members.map((m) => ({ name: m.ID === added.member.ID ? nodeId : m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs }));
  } else {
    const list = await storeCall(NO_LEADER, () => etcd.cluster.memberList({}));
    res.members = list.members.filter((m) => m.name && !m.isLearner).map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs }));
  }
  swarm.opts.log.info({ nodeId, role, addr }, 'node joined the swarm');
  return res;
}
