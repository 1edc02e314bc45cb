import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../helpers/daemons.js';
import { etcdPids, startSwarmLab, waitFor, type SwarmLab } from '../helpers/swarm-lab.js';

// Faults of the swarm's store: the manager's etcd stopped (SIGSTOP) past the heartbeat TTL,
// killed while weftd runs, and weftd itself killed while etcd keeps running.

const NO_LEADER = "Error response from daemon: The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.\n";

let lab: SwarmLab;
let d1: Daemon, d2: Daemon;
let id1 = '';
let id2 = '';

before(async () => {
  lab = await startSwarmLab(2);
  [d1, d2] = lab.daemons;
  await d1.dockerOk(['swarm', 'init', '--advertise-addr', lab.hosts[0].addr]);
  const token = await d1.dockerOk(['swarm', 'join-token', '-q', 'worker']);
  await d2.dockerOk(['swarm', 'join', '--token', token, `${lab.hosts[0].addr}:2377`]);
  id1 = (await d1.api('GET', '/info')).json.Swarm.NodeID;
  id2 = (await d2.api('GET', '/info')).json.Swarm.NodeID;
});
after(() => lab.stop());

const bothReady = async () => {
  const r = await d1.api('GET', '/nodes');
  return r.status === 200 && r.json.length === 2 && r.json.every((n: { Status: { State: string } }) => n.Status.State === 'ready');
};

test('etcd stopped for 10 s: store calls fail fast with a clear error, /info still answers, then everything converges', async () => {
  const [pid] = etcdPids(d1);
  assert.ok(pid, 'the manager runs etcd');
  process.kill(pid, 'SIGSTOP');
  let resumed = false;
  const resume = () => {
    if (!resumed) process.kill(pid, 'SIGCONT');
    resumed = true;
  };
  try {
    const stoppedAt = Date.now();
    let t = Date.now();
    const ls = await d1.docker(['node', 'ls']);
    const lsMs = Date.now() - t;
    assert.equal(ls.code, 1);
    assert.equal(ls.stderr, NO_LEADER);
    assert.ok(lsMs < 6000, `node ls failed after ${lsMs} ms`);
    t = Date.now();
    const tok = await d1.docker(['swarm', 'join-token', 'worker']);
    assert.equal(tok.stderr, NO_LEADER);
    assert.ok(Date.now() - t < 6000);
    t = Date.now();
    const info = await d1.api('GET', '/info');
    assert.equal(info.json.Swarm.LocalNodeState, 'active');
    assert.ok(Date.now() - t < 1000, '/info does not wait for the store');
    assert.equal((await d2.api('GET', '/info')).status, 200);
    // Past the 6 s heartbeat TTL.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    resume();
    const back = Date.now();
    await waitFor('both nodes ready again', bothReady, 30_000);
    console.log(`store answered ${lsMs} ms into the outage; converged ${Date.now() - back} ms after etcd resumed`);
  } finally {
    resume();
  }
  await d1.dockerOk(['swarm', 'join-token', '--rotate', 'worker']);
});

test('etcd killed under a running weftd: it is restarted and the swarm answers again', async () => {
  const [before] = etcdPids(d1);
  process.kill(before, 'SIGKILL');
  const after = await waitFor('a new etcd process', async () => etcdPids(d1).find((p) => p !== before), 20_000);
  assert.notEqual(after, before);
  await waitFor('node ls to work again', bothReady, 30_000);
});

test('weftd killed: etcd keeps running and is adopted by the restarted weftd, the swarm is as before', async () => {
  const [pid] = etcdPids(d1);
  await d1.kill9();
  assert.deepEqual(etcdPids(d1), [pid], 'etcd outlives weftd');
  const ls = await d2.api('GET', '/info');
  assert.equal(ls.json.Swarm.LocalNodeState, 'active', 'the worker does not notice');
  await d1.restart();
  assert.deepEqual(etcdPids(d1), [pid], 'the restarted weftd adopted the running member');
  await waitFor('both nodes ready', bothReady, 30_000);
  const info = (await d1.api('GET', '/info')).json.Swarm;
  assert.equal(info.NodeID, id1);
  assert.equal(info.ControlAvailable, true);
  assert.deepEqual(info.RemoteManagers, [{ NodeID: id1, Addr: `${lab.hosts[0].addr}:2377` }]);
  // The worker restarts too: it finds the managers from its saved state.
  await d2.kill9();
  await d2.restart();
  await waitFor('the worker back', async () => (await d2.api('GET', '/info')).json.Swarm.LocalNodeState === 'active' && (await bothReady()), 30_000);
  assert.equal((await d2.api('GET', '/info')).json.Swarm.NodeID, id2);
});
