import { WeftError } from '../common/errors.js';

// Docker's texts for swarm refusals, with the status dockerd answers them with
// (test/fixtures/dockerd/swarm/responses.json). swarmkit's gRPC errors keep their "rpc error:" prefix.

const TAIL = 'The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.';
const rpc = (code: string, desc: string) => `rpc error: code = ${code} desc = ${desc}`;

export const msg = {
  notManagerInactive: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
  notManagerWorker: "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.",
  notInSwarm: 'This node is not part of a swarm',
  alreadyInSwarm: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
  badSecret: rpc('InvalidArgument', 'A valid join token is necessary to join this cluster'),
  caMismatch: (expected: string) => `remote CA does not match fingerprint. Expected: ${expected}`,
  nodeNotFound: (id: string) => `node ${id} not found`,
  nodeNotDown: (id: string) => rpc('FailedPrecondition', `node ${id} is not down and can't be removed`),
  nodeIsManager: (id: string) => rpc('FailedPrecondition', `node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`),
  quorumLoss: rpc('FailedPrecondition', "can't remove member from the raft: this would result in a loss of quorum"),
  notInMemberList: rpc('NotFound', "can't find manager in raft memberlist"),
  outOfSequence: rpc('Unknown', 'update out of sequence'),
  badVersion: (what: 'node' | 'swarm', v: string) => `invalid ${what} version '${v}': strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`,
  badRole: (role: string) => `invalid Role: ${JSON.stringify(role)}`,
  // daemon/cluster/swarm.go Leave: a manager never leaves without --force; the middle part depends on quorum.
  leaveManager: (reachable: number, unreachable: number) => {
    const head = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
    if (reachable - 2 <= unreachable) {
      if (reachable === 1 && unreachable === 0) return head + 'Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ';
      return head + `Removing this node leaves ${reachable - 1} managers out of ${reachable + unreachable}. Without a Raft quorum your swarm will be inaccessible. ` + TAIL;
    }
    return head + TAIL;
  },
  noAdvertiseAddr: 'could not find the system\'s IP address - specify one with --advertise-addr',
  twoManagers:
    'WARNING: Running Swarm in a two-manager configuration. This configuration provides\n         no fault tolerance, and poses a high risk to lose control over the cluster.\n         Refer to https://docs.docker.com/engine/swarm/admin_guide/ to configure the\n         Swarm for fault-tolerance.',
};

export const unavailable = (message: string) => new WeftError('Unavailable', message);
export const failedPrecondition = (message: string) => new WeftError('InvalidParameter', message);
