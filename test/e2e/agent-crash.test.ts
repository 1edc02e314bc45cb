import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { startDaemon, type Daemon } from '../helpers/daemons.js';

// The kernel agent killed in the middle of a connect's plan. strace stalls the agent's third
// netlink send of the plan (after it created the veth pair, before it enslaved it), then:
//   A. the agent is killed: the connect fails with the reason, the join's undo (through the
//      restarted agent) leaves no veth behind, and the next connect works;
//   B. weftd itself is killed (the agent dies with it): the store already says the container is
//      on the network (records go first), so the restarted weftd's reconcile finishes the join
//      (enslaves the veth, configures the sandbox side): fully connected, not half, and a
//      disconnect then leaves nothing behind.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function agentPid(d: Daemon): number | undefined {
  const weftd = d.pid();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'weft-kernel' && ppid === weftd) return Number(e);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Delays the agent's n-th sendto by 3 s (strace fault injection); resolves once attached. */
async function stallAgent(pid: number, n: number): Promise<{ stop(): Promise<void> }> {
  const strace: ChildProcess = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=sendto', '-e', `inject=sendto:delay_enter=3000000:when=${n}`, '-p', String(pid)], { stdio: 'ignore' });
  const traced = () => readdirSync(`/proc/${pid}/task`).every((t) => !/^TracerPid:\s+0$/m.test(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')));
  for (let i = 0; i < 500 && !traced(); i++) await sleep(10);
  assert.ok(traced(), 'strace attached to the agent');
  const exited = new Promise<void>((r) => strace.once('exit', () => r()));
  // SIGKILL: a tracer asked to stop politely can sit on a dead tracee; killed, it lets it be reaped.
  return { stop: () => (strace.kill('SIGKILL'), exited) };
}

const veths = (d: Daemon) => (JSON.parse(d.netns.run('ip', ['-j', 'link', 'show', 'type', 'veth']) || '[]') as { ifname: string }[]).map((l) => l.ifname);

async function waitFor(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (fn()) return;
  assert.fail(`timed out waiting for ${what}`);
}

test('kernel agent killed mid-connect: the connect fails cleanly, or the reconcile finishes it; nothing half-applied or left behind', { timeout: 120_000 }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await d.api(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  await ok('POST', '/networks/create', { Name: 'home', IPAM: { Config: [{ Subnet: '10.98.0.0/24' }] } });
  await ok('POST', '/networks/create', { Name: 'extra', IPAM: { Config: [{ Subnet: '10.98.1.0/24' }] } });
  const c = await ok('POST', '/containers/create?name=crashy', { Image: 'alpine', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'home' } });
  await ok('POST', `/containers/${c.Id}/start`);
  await ok('POST', '/networks/extra/connect', { Container: 'crashy' }); // realizes "extra"
  await ok('POST', '/networks/extra/disconnect', { Container: 'crashy' });
  await waitFor('the disconnected veth to go', () => veths(d).length === 1);
  const before = veths(d);
  const execIn = async (cmd: string[]) => {
    const r = await d.docker(['exec', 'crashy', ...cmd]);
    return { code: r.code, out: r.stdout };
  };

  await t.test('A: the agent dies mid-plan', async () => {
    const strace = await stallAgent(agentPid(d)!, 3);
    const connect = d.api('POST', '/networks/extra/connect', { Container: 'crashy' });
    await waitFor('the plan to create its veth', () => veths(d).length > before.length);
    process.kill(agentPid(d)!, 'SIGKILL'); // weftd hears of it once strace lets go (the 3 s delay)
    const r = await connect;
    await strace.stop();
    assert.equal(r.status, 500);
    assert.match(r.json.message, /kernel agent was killed \(SIGKILL\) during .*the operation did not complete/);
    assert.deepEqual(veths(d), before, 'the join was undone');
    const links = await execIn(['ip', '-o', 'link']);
    assert.doesNotMatch(links.out, /eth1/);
    const info = await ok('GET', `/containers/${c.Id}/json`);
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['home']);
    await ok('POST', '/networks/extra/connect', { Container: 'crashy' });
    assert.equal((await execIn(['ping', '-c1', '-W2', '10.98.1.1'])).code, 0, 'connected through the restarted agent');
    await ok('POST', '/networks/extra/disconnect', { Container: 'crashy' });
    await waitFor('the disconnected veth to go', () => veths(d).length === before.length);
  });

  await t.test('B: weftd dies mid-plan; its restart reconciles', async () => {
    const strace = await stallAgent(agentPid(d)!, 3);
    void d.api('POST', '/networks/extra/connect', { Container: 'crashy' }).catch(() => undefined);
    await waitFor('the plan to create its veth', () => veths(d).length > before.length);
    await d.kill9();
    await strace.stop();
    const half = (await execIn(['ip', '-o', '-4', 'addr', 'show', 'eth1'])).out;
    assert.doesNotMatch(half, /10\.98\.1\./, 'cut short before the sandbox side');
    await d.restart();
    const info = await ok('GET', `/containers/${c.Id}/json`);
    assert.equal(info.State.Running, true);
    const ip = info.NetworkSettings.Networks.extra?.IPAddress;
    assert.match(ip, /^10\.98\.1\./);
    assert.match((await execIn(['ip', '-o', '-4', 'addr', 'show', 'eth1'])).out, new RegExp(`${ip}/24`), 'the sandbox side was finished');
    assert.equal((await execIn(['ping', '-c1', '-W2', '10.98.1.1'])).code, 0);
    await ok('POST', '/networks/extra/disconnect', { Container: 'crashy' });
    await waitFor('the disconnected veth to go', () => veths(d).length === before.length);
    assert.deepEqual(veths(d), before, 'nothing left behind');
  });
});
