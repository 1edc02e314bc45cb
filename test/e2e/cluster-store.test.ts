import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Daemon } from '../helpers/daemons.js';
import { startSwarmLab, waitFor, type SwarmLab } from '../helpers/swarm-lab.js';
import type { TestHost } from '../helpers/underlay.js';

// weftd --cluster-store etcd://... --cluster-advertise ...: the user's own etcd (here a plain
// one the test runs on host1 of its underlay), no swarm commands. Each weftd registers itself and
// keeps an alive key on a lease of discovery.ttl; a killed weftd's key goes after the TTL.

let lab: SwarmLab;
let etcd: ChildProcess | undefined;
let etcdDir = '';
const STORE = '10.210.0.11:2379';

before(async () => {
  etcdDir = mkdtempSync('/tmp/wt-etcd-');
  lab = await startSwarmLab(2, {
    beforeDaemons: async ([h1]) => {
      etcd = h1.netns.spawn('/usr/bin/etcd', [
        '--name', 'store', '--data-dir', join(etcdDir, 'data'),
        '--listen-client-urls', `http://${STORE}`, '--advertise-client-urls', `http://${STORE}`,
        '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
        '--initial-cluster', 'store=http://127.0.0.1:2380',
      ], { stdio: 'ignore' });
      await waitFor('the test etcd', async () => storeKeys(h1, '/').length >= 0);
    },
    args: () => ['--cluster-store', `etcd://${STORE}`, '--cluster-advertise', 'eth0:2376', '--cluster-store-opt', 'discovery.ttl=5s'],
  });
});

after(async () => {
  try {
    await lab.stop();
  } finally {
    etcd?.kill('SIGKILL');
    rmSync(etcdDir, { recursive: true, force: true });
  }
});

/** The store's keys under prefix, read from inside a host (the underlay exists only there). */
function storeKeys(h: TestHost, prefix: string): string[] {
  const script = `import { Etcd3 } from 'etcd3'; const c = new Etcd3({ hosts: 'http://${STORE}', dialTimeout: 2000 });
    console.log(JSON.stringify(await c.getAll().prefix(${JSON.stringify(prefix)}).keys())); c.close();`;
  const out = execFileSync('nsenter', [`--net=${h.netns.path}`, process.execPath, '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 15_000 });
  return JSON.parse(out) as string[];
}

const nodeIdOf = (d: Daemon) => execFileSync('cat', [join(d.dataRoot, 'cluster/node-id')], { encoding: 'utf8' }).trim();

test('each weftd registers in the cluster store with a heartbeat; swarm commands answer as outside a swarm', async () => {
  const [h1] = lab.hosts;
  const [d1, d2] = lab.daemons;
  await waitFor('both nodes alive in the store', async () => storeKeys(h1, '/weft/alive/').length === 2, 30_000);
  assert.deepEqual(storeKeys(h1, '/weft/nodes/').sort(), [nodeIdOf(d1), nodeIdOf(d2)].map((id) => `/weft/nodes/${id}`).sort());
  const swarm = await d1.api('GET', '/swarm');
  assert.equal(swarm.status, 503);
  assert.equal((await d1.api('GET', '/info')).json.Swarm.LocalNodeState, 'inactive');
  const init = await d1.docker(['swarm', 'init', '--advertise-addr', h1.addr]);
  assert.equal(init.code, 1);
  assert.match(init.stderr, /external cluster store/);
});

test('a killed weftd drops out of the store after discovery.ttl, and is back after its restart', async () => {
  const [h1] = lab.hosts;
  const d2 = lab.daemons[1];
  const id2 = nodeIdOf(d2);
  await d2.kill9();
  const killed = Date.now();
  await waitFor('the killed node gone from the alive keys', async () => !storeKeys(h1, '/weft/alive/').includes(`/weft/alive/${id2}`), 20_000);
  const goneMs = Date.now() - killed;
  assert.ok(goneMs >= 3000, `gone after ${goneMs} ms, not before its lease could expire`);
  await d2.restart();
  await waitFor('the restarted node alive again', async () => storeKeys(h1, '/weft/alive/').includes(`/weft/alive/${id2}`), 20_000);
});

test('overlay networks without swarm commands: scope global, a container on each host, ping by name both ways', async () => {
  const [h1] = lab.hosts;
  const [d1, d2] = lab.daemons;
  await d1.dockerOk(['network', 'create', '-d', 'overlay', 'gnet']);
  assert.equal(await d1.dockerOk(['network', 'inspect', '-f', '{{.Scope}}', 'gnet']), 'global');
  await waitFor('gnet on host2', async () => (await d2.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('gnet'), 10_000);
  await d1.dockerOk(['run', '-d', '--name', 'g1', '--network', 'gnet', 'busybox', 'sleep', '600']);
  await d2.dockerOk(['run', '-d', '--name', 'g2', '--network', 'gnet', 'busybox', 'sleep', '600']);
  // The network and both endpoints are the store's (under /weft/net/).
  assert.equal(storeKeys(h1, '/weft/net/peers/').length, 2);
  assert.equal(storeKeys(h1, '/weft/net/networks/').length, 1);
  for (const [d, from, to] of [[d1, 'g1', 'g2'], [d2, 'g2', 'g1']] as const) {
    const r = await d.docker(['exec', from, 'ping', '-c', '1', '-W', '2', to]);
    assert.equal(r.code, 0, r.stdout + r.stderr + d.logTail(10));
  }
  await d1.dockerOk(['rm', '-f', 'g1']);
  await d2.dockerOk(['rm', '-f', 'g2']);
  await waitFor('no endpoints left in the store', async () => storeKeys(h1, '/weft/net/peers/').length === 0, 10_000);
  await d2.dockerOk(['network', 'rm', 'gnet']);
  assert.deepEqual(storeKeys(h1, '/weft/net/networks/'), []);
});

test('the store stopped for 15 s: overlay traffic keeps flowing, store calls fail fast and clearly, all converges after', async () => {
  const [d1, d2] = lab.daemons;
  await d1.dockerOk(['network', 'create', '-d', 'overlay', 'outage']);
  await waitFor('outage on host2', async () => (await d2.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('outage'), 10_000);
  await d1.dockerOk(['run', '-d', '--name', 'o1', '--network', 'outage', 'busybox', 'sleep', '600']);
  await d2.dockerOk(['run', '-d', '--name', 'o2', '--network', 'outage', 'busybox', 'sleep', '600']);
  const ping = (d: Daemon, from: string, to: string) => d.docker(['exec', from, 'ping', '-c', '1', '-W', '2', to]);
  await waitFor('o1 reaches o2', async () => (await ping(d1, 'o1', 'o2')).code === 0, 10_000);
  etcd!.kill('SIGSTOP');
  try {
    const started = Date.now();
    const r = await d1.docker(['network', 'create', '-d', 'overlay', 'during']);
    const took = Date.now() - started;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The swarm does not have a leader|cluster store/);
    assert.ok(took < 8000, `a store call took ${took} ms`);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const p = await ping(d1, 'o1', 'o2');
      assert.equal(p.code, 0, `traffic stopped during the outage: ${p.stdout}${p.stderr}`);
      await new Promise((res) => setTimeout(res, 2000));
    }
  } finally {
    etcd!.kill('SIGCONT');
  }
  await waitFor('a store call works again', async () => (await d1.docker(['network', 'create', '-d', 'overlay', 'after'])).code === 0, 20_000);
  await waitFor('o2 reaches o1 by name again', async () => (await ping(d2, 'o2', 'o1')).code === 0, 20_000);
  for (const [d, n] of [[d1, 'o1'], [d2, 'o2']] as const) await d.dockerOk(['rm', '-f', n]);
  await waitFor('outage removable', async () => (await d1.docker(['network', 'rm', 'outage', 'after'])).code === 0, 15_000);
});
