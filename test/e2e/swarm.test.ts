import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Daemon } from '../helpers/daemons.js';
import { etcdPids, keyDiff, startSwarmLab, waitFor, type SwarmLab } from '../helpers/swarm-lab.js';

// Swarm membership across three hosts (namespaces on a test underlay, one weftd each) with the
// real docker CLI, compared with what Debian's dockerd answered in the same steps
// (test/fixtures/dockerd/swarm/, captured by test/fixtures/capture-dockerd-swarm.ts).

const FIX = join(REPO_ROOT, 'test/fixtures/dockerd/swarm');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIX, name), 'utf8'));
const R = fixture('responses.json') as Record<string, { status?: number; body?: unknown; code?: number; stdout?: string; stderr?: string }>;
const FIX_NODES = fixture('nodes-list-three.json') as { ID: string; Status: { Addr: string } }[];
/** The fixture's node ID for host i (1-based), by its underlay address. */
const fixId = (i: number) => FIX_NODES.find((n) => n.Status.Addr === `10.210.0.${10 + i}`)!.ID;

let lab: SwarmLab;
let d1: Daemon, d2: Daemon, d3: Daemon;
const ids: string[] = [];
let workerToken = '';
let managerToken = '';

before(async () => {
  lab = await startSwarmLab(3);
  [d1, d2, d3] = lab.daemons;
});
after(() => lab.stop());

const addr = (i: number) => lab.hosts[i - 1].addr;

async function cliLike(d: Daemon, args: string[], key: string, replace: [string, string][] = []): Promise<void> {
  const r = await d.docker(args);
  let want = R[key];
  for (const [from, to] of replace) want = { ...want, stdout: want.stdout?.replaceAll(from, to), stderr: want.stderr?.replaceAll(from, to) };
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: want.code, stdout: want.stdout, stderr: want.stderr }, `docker ${args.join(' ')}\n${d.logTail(8)}`);
}

async function apiLike(d: Daemon, method: string, path: string, key: string, body?: unknown): Promise<void> {
  const r = await d.api(method, path, body);
  assert.deepEqual({ status: r.status, body: r.json }, { status: R[key].status, body: R[key].body }, `${method} ${path}`);
}

async function nodeOf(d: Daemon, id: string) {
  return (await d.api('GET', `/nodes/${id}`)).json;
}

test('outside a swarm, the swarm endpoints answer as a non-swarm dockerd', async () => {
  await apiLike(d1, 'GET', '/swarm', 'inactive_swarm_get');
  await apiLike(d1, 'GET', '/nodes', 'inactive_nodes_list');
  await apiLike(d1, 'GET', '/nodes/nope', 'inactive_node_get');
  await apiLike(d1, 'POST', '/swarm/leave', 'inactive_swarm_leave');
  await apiLike(d1, 'POST', '/swarm/update?version=1', 'inactive_swarm_update', {});
  await apiLike(d1, 'GET', '/swarm/unlockkey', 'inactive_unlockkey');
  await apiLike(d1, 'POST', '/networks/create', 'inactive_overlay_create', { Name: 'ov', Driver: 'overlay' });
  assert.deepEqual((await d1.api('GET', '/info')).json.Swarm, fixture('info-swarm-inactive.json'));
  await cliLike(d1, ['swarm', 'join-token', 'worker'], 'cli_inactive_join_token');
  await cliLike(d1, ['node', 'ls'], 'cli_inactive_node_ls');
  await cliLike(d1, ['swarm', 'leave'], 'cli_inactive_leave');
});

test('swarm init: a manager with a cluster CA, Docker-shaped tokens, GET /swarm and info as dockerd', async () => {
  const init = await d1.docker(['swarm', 'init', '--advertise-addr', addr(1)]);
  assert.equal(init.code, 0, init.stderr + d1.logTail(20));
  const m = /current node \(([0-9a-z]{25})\)/.exec(init.stdout);
  assert.ok(m, init.stdout);
  ids[1] = m[1];
  const swarm = (await d1.api('GET', '/swarm')).json;
  workerToken = swarm.JoinTokens.Worker;
  managerToken = swarm.JoinTokens.Manager;
  const fixInit = R.cli_init.stdout!.replace(fixId(1), '').replace(/SWMTKN-\S+/, '');
  assert.equal(init.stdout.replace(ids[1], '').replace(workerToken, ''), fixInit.replace('10.210.0.11', addr(1)));
  assert.deepEqual(keyDiff(swarm, fixture('swarm-get.json')), []);
  // The token pins the CA: sha256 of its PEM, base 36, zero-padded to 50 digits (swarmkit's encoding).
  const digest = BigInt('0x' + createHash('sha256').update(swarm.TLSInfo.TrustRoot).digest('hex')).toString(36).padStart(50, '0');
  assert.match(workerToken, new RegExp(`^SWMTKN-1-${digest}-[0-9a-z]{25}$`));
  assert.match(managerToken, new RegExp(`^SWMTKN-1-${digest}-[0-9a-z]{25}$`));
  assert.notEqual(workerToken, managerToken);
  assert.equal(swarm.TLSInfo.CertIssuerSubject, fixture('swarm-get.json').TLSInfo.CertIssuerSubject, 'issuer CN=swarm-ca in the same DER as swarmkit');
  const info = (await d1.api('GET', '/info')).json.Swarm;
  assert.deepEqual(keyDiff(info, fixture('info-swarm-manager.json')), []);
  assert.equal(info.NodeID, ids[1]);
  assert.equal(info.Managers, 1);
  assert.equal(etcdPids(d1).length, 1, 'one etcd member runs for the manager');
  await apiLike(d1, 'POST', '/swarm/init', 'init_again', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: addr(1) });
  await cliLike(d1, ['swarm', 'join-token', 'worker'], 'cli_join_token_worker', [[R.cli_join_token_worker.stdout!.match(/SWMTKN-\S+/)![0], workerToken]]);
  assert.equal(await d1.dockerOk(['swarm', 'join-token', '-q', 'manager']), managerToken);
  await apiLike(d1, 'GET', '/nodes/nope', 'node_get_missing');
});

test('wrong, malformed and rotated tokens are refused with Docker\'s messages', async () => {
  const parts = workerToken.split('-');
  const badSecret = [...parts.slice(0, 3), 'x'.repeat(parts[3].length)].join('-');
  const badDigest = [parts[0], parts[1], '1'.repeat(parts[2].length), parts[3]].join('-');
  await cliLike(d2, ['swarm', 'join', '--token', badSecret, `${addr(1)}:2377`], 'cli_join_bad_secret');
  await cliLike(d2, ['swarm', 'join', '--token', badDigest, `${addr(1)}:2377`], 'cli_join_bad_digest');
  await cliLike(d2, ['swarm', 'join', '--token', 'SWMTKN-1-nope', `${addr(1)}:2377`], 'cli_join_malformed');
  await apiLike(d2, 'POST', '/swarm/join', 'join_bad_secret', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: addr(2), RemoteAddrs: [`${addr(1)}:2377`], JoinToken: badSecret });
  assert.equal((await d2.api('GET', '/info')).json.Swarm.LocalNodeState, 'inactive', 'a refused join leaves the node outside');

  const rotated = await d1.docker(['swarm', 'join-token', '--rotate', 'worker']);
  const newToken = (await d1.api('GET', '/swarm')).json.JoinTokens.Worker;
  assert.notEqual(newToken, workerToken);
  assert.equal(rotated.stdout, R.cli_rotate_worker.stdout!.replace(/SWMTKN-\S+/, newToken).replace('10.210.0.11', addr(1)));
  await cliLike(d2, ['swarm', 'join', '--token', workerToken, `${addr(1)}:2377`], 'cli_join_rotated');
  workerToken = newToken;
});

test('join as a worker and as a manager', async () => {
  await cliLike(d2, ['swarm', 'join', '--advertise-addr', addr(2), '--token', workerToken, `${addr(1)}:2377`], 'cli_join_worker');
  assert.equal(etcdPids(d2).length, 0, 'a worker is an etcd client only');
  await apiLike(d2, 'GET', '/swarm', 'worker_swarm_get');
  await apiLike(d2, 'GET', '/nodes', 'worker_nodes_list');
  await cliLike(d2, ['node', 'ls'], 'cli_worker_node_ls');
  await cliLike(d2, ['swarm', 'join-token', 'worker'], 'cli_worker_join_token');
  await cliLike(d2, ['swarm', 'join', '--token', workerToken, `${addr(1)}:2377`], 'cli_join_again');
  await cliLike(d2, ['swarm', 'init', '--advertise-addr', addr(2)], 'cli_init_on_worker');
  const workerInfo = (await d2.api('GET', '/info')).json.Swarm;
  assert.deepEqual(keyDiff(workerInfo, fixture('info-swarm-worker.json')), []);
  ids[2] = workerInfo.NodeID;

  await cliLike(d3, ['swarm', 'join', '--advertise-addr', addr(3), '--token', managerToken, `${addr(1)}:2377`], 'cli_join_manager');
  assert.equal(etcdPids(d3).length, 1);
  ids[3] = (await d3.api('GET', '/info')).json.Swarm.NodeID;

  const nodes = (await d1.api('GET', '/nodes')).json as { ID: string; Spec: { Role: string }; Status: { State: string }; ManagerStatus?: { Leader?: boolean; Reachability: string } }[];
  assert.equal(nodes.length, 3);
  assert.ok(nodes.every((n) => n.Status.State === 'ready'));
  assert.deepEqual(keyDiff(await nodeOf(d1, ids[1]), fixture('node-get-manager.json')), []);
  assert.deepEqual(keyDiff(await nodeOf(d1, ids[2]), fixture('node-get-worker.json')), []);
  const n3 = await nodeOf(d3, ids[3]);
  assert.deepEqual(n3.ManagerStatus, { Reachability: 'reachable', Addr: `${addr(3)}:2377` }, 'the joined manager is a voting etcd member');
  assert.equal((await nodeOf(d3, ids[1])).ManagerStatus.Leader, true);
  const ls = await d1.dockerOk(['node', 'ls', '--format', '{{.ID}} {{.Status}} {{.ManagerStatus}}']);
  assert.deepEqual(ls.split('\n').map((l) => l.trim()).sort(), [`${ids[1]} Ready Leader`, `${ids[2]} Ready`, `${ids[3]} Ready Reachable`].sort());
  const info = (await d1.api('GET', '/info')).json.Swarm;
  assert.deepEqual(keyDiff(info, fixture('info-swarm-manager-three.json')), []);
  assert.deepEqual(info.Warnings, fixture('info-swarm-manager-three.json').Warnings, 'two managers: the same warning as dockerd');
});

test('node rm, leave and demote refuse as swarm does', async () => {
  await cliLike(d1, ['node', 'rm', ids[2]], 'cli_node_rm_active_worker', [[fixId(2), ids[2]]]);
  await cliLike(d1, ['node', 'rm', ids[3]], 'cli_node_rm_manager', [[fixId(3), ids[3]]]);
  await cliLike(d1, ['node', 'rm', 'nope'], 'cli_node_rm_missing');
  await cliLike(d3, ['swarm', 'leave'], 'cli_leave_manager_of_two');
  const n2 = await nodeOf(d1, ids[2]);
  await apiLike(d1, 'POST', `/nodes/${ids[2]}/update?version=1`, 'node_update_stale_version', { ...n2.Spec, Role: 'manager' });
  await apiLike(d1, 'POST', `/nodes/${ids[2]}/update?version=${n2.Version.Index}`, 'node_update_bad_role', { ...n2.Spec, Role: 'boss' });
  await apiLike(d1, 'POST', `/nodes/${ids[2]}/update`, 'node_update_no_version', { ...n2.Spec, Role: 'manager' });
  await apiLike(d1, 'POST', '/swarm/update?rotateWorkerToken=true', 'swarm_update_no_version', {});
});

const reachability = async (id: string) => (await nodeOf(d1, id))?.ManagerStatus?.Reachability as string | undefined;

test('promote and demote: the node becomes an etcd member and stops being one', async () => {
  await cliLike(d1, ['node', 'promote', ids[2]], 'cli_promote', [[fixId(2), ids[2]]]);
  await waitFor('the promoted node to be a reachable manager', async () => (await reachability(ids[2])) === 'reachable', 60_000);
  assert.equal(etcdPids(d2).length, 1, 'the promoted node runs an etcd member');
  assert.equal((await d2.api('GET', '/info')).json.Swarm.ControlAvailable, true);
  assert.equal((await d2.api('GET', '/nodes')).status, 200, 'and answers manager calls');
  await cliLike(d1, ['node', 'promote', ids[2]], 'cli_promote_again', [[fixId(2), ids[2]]]);
  assert.equal((await d1.api('GET', '/info')).json.Swarm.Warnings, undefined, 'three managers: no warning');

  await cliLike(d1, ['node', 'demote', ids[2]], 'cli_demote', [[fixId(2), ids[2]]]);
  await waitFor('the demoted node to stop its etcd member', async () => etcdPids(d2).length === 0 && (await reachability(ids[2])) === undefined, 30_000);
  await waitFor('the demoted node to refuse manager calls', async () => (await d2.api('GET', '/nodes')).status === 503);
  await cliLike(d1, ['node', 'demote', ids[2]], 'cli_demote_again', [[fixId(2), ids[2]]]);
  const members = await d1.dockerOk(['node', 'ls', '--filter', 'role=manager', '--format', '{{.ID}}']);
  assert.deepEqual(members.split('\n').sort(), [ids[1], ids[3]].sort());
});

test('three managers, one killed: the swarm keeps working, the lost one shows down, and comes back', async () => {
  await d1.dockerOk(['node', 'promote', ids[2]]);
  await waitFor('three reachable managers', async () => (await reachability(ids[2])) === 'reachable', 60_000);
  const etcd3 = etcdPids(d3);
  await d3.kill9();
  for (const pid of etcd3) process.kill(pid, 'SIGKILL');
  // Lost: one of three. Writes and reads still work on the two others.
  const started = Date.now();
  await d1.dockerOk(['swarm', 'join-token', '--rotate', 'manager']);
  await d2.dockerOk(['node', 'ls']);
  assert.ok(Date.now() - started < 15_000, `the swarm answered in ${Date.now() - started} ms after losing a manager`);
  await waitFor('the lost manager to show down and unreachable', async () => {
    const n = await nodeOf(d1, ids[3]);
    return n.Status.State === 'down' && n.ManagerStatus.Reachability === 'unreachable';
  }, 30_000);
  // Its weftd restarts: the etcd member is started again from its data and rejoins.
  await d3.restart();
  await waitFor('the restarted manager to be reachable again', async () => (await reachability(ids[3])) === 'reachable' && (await nodeOf(d1, ids[3])).Status.State === 'ready', 60_000);
  assert.equal(etcdPids(d3).length, 1);
});

test('leave: workers and managers go, the last manager needs --force, and no etcd is left', async () => {
  await d1.dockerOk(['node', 'demote', ids[2]]);
  await waitFor('the demoted node to stop its etcd member', async () => etcdPids(d2).length === 0 && (await d2.api('GET', '/nodes')).status === 503, 30_000);
  await cliLike(d2, ['swarm', 'leave'], 'cli_leave_worker');
  assert.equal((await d2.api('GET', '/info')).json.Swarm.LocalNodeState, 'inactive');
  await waitFor('the node that left to show down', async () => (await nodeOf(d1, ids[2])).Status.State === 'down', 30_000);
  await cliLike(d1, ['node', 'rm', ids[2]], 'cli_node_rm_down', [[fixId(2), ids[2]]]);
  const gone = await d1.api('DELETE', `/nodes/${ids[2]}`);
  assert.deepEqual({ status: gone.status, body: gone.json }, { status: R.node_delete_missing.status, body: { message: (R.node_delete_missing.body as { message: string }).message.replace(fixId(2), ids[2]) } });
  assert.equal((await d3.docker(['swarm', 'leave', '--force'])).code, 0);
  assert.equal(etcdPids(d3).length, 0, 'a manager that leaves ends its etcd member');
  await waitFor('one manager left', async () => (await d1.api('GET', '/info')).json.Swarm.Managers === 1, 30_000);
  await cliLike(d1, ['swarm', 'leave'], 'cli_leave_last_manager');
  await cliLike(d1, ['swarm', 'leave', '--force'], 'cli_leave_force');
  assert.deepEqual(lab.daemons.flatMap(etcdPids), [], 'no etcd process is left');
  await apiLike(d1, 'GET', '/swarm', 'inactive_swarm_get');
});
