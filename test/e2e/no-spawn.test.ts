import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { startDaemon, type Daemon } from '../helpers/daemons.js';
import { KERNEL_BACKENDS } from '../../src/kernel/index.js';

// weftd's network operations start no process when the kernel agent does the kernel work: the
// daemon (all its threads and children) runs under `strace -f -e trace=execve` while it does 80
// operations (20 network create/rm with a join, 60 connect/disconnect on a running container),
// then a container's whole network set-up and teardown (run -d + rm -f, where runc and conmon are
// the runtime's own). The command path does the same under the same count, as the control that
// the counting sees processes at all.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trace {
  stop(): Promise<string[]>;
}

/** Traces execve of pid, its threads and every descendant; resolves once every thread is traced. */
async function traceExecs(pid: number, file: string): Promise<Trace> {
  const strace = spawn('strace', ['-f', '-qq', '-s', '200', '-e', 'trace=execve,execveat', '-e', 'signal=none', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => strace.once('exit', () => r()));
  const traced = () =>
    readdirSync(`/proc/${pid}/task`).every((tid) => !/^TracerPid:\s+0$/m.test(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')));
  for (let i = 0; i < 500 && !traced(); i++) await sleep(10);
  assert.ok(traced(), 'strace attached to every thread');
  return {
    async stop() {
      strace.kill('SIGINT');
      await exited;
      const lines = readFileSync(file, 'utf8').split('\n');
      rmSync(file, { force: true });
      // Successful execs only (execvp tries each PATH entry first).
      return lines.filter((l) => /execve(at)?\(/.test(l) && / = 0$/.test(l)).map((l) => l.replace(/^\d+\s+/, ''));
    },
  };
}

async function ok(d: Daemon, method: string, path: string, body?: unknown): Promise<any> {
  const r = await d.api(method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}\n${d.logTail(10)}`);
  return r.json;
}

/** The 80 operations: 20 network create/rm, each network joined once in between, and 60 connect/disconnect. */
async function networkOps(d: Daemon): Promise<number> {
  let n = 0;
  for (let i = 0; i < 10; i++) {
    const { Id } = await ok(d, 'POST', '/networks/create', { Name: `ns-net${i}`, IPAM: { Config: [{ Subnet: `10.97.${i}.0/24` }] } });
    await ok(d, 'POST', `/networks/${Id}/connect`, { Container: 'probe' });
    await ok(d, 'POST', `/networks/${Id}/disconnect`, { Container: 'probe' });
    await ok(d, 'DELETE', `/networks/${Id}`);
    n += 4;
  }
  for (let i = 0; i < 20; i++) {
    await ok(d, 'POST', '/networks/ns-conn/connect', { Container: 'probe' });
    await ok(d, 'POST', '/networks/ns-conn/disconnect', { Container: 'probe' });
    n += 2;
  }
  return n;
}

for (const backend of KERNEL_BACKENDS) {
  test(`no processes for network operations (kernel backend ${backend}), counted under strace`, { timeout: 180_000 }, async (t) => {
    const d = await startDaemon('weft', { extraArgs: ['--kernel-backend', backend] });
    t.after(() => d.stop());
    // Long-lived helpers (the agent, weft-dns) start with the first network and container: before the count.
    await ok(d, 'POST', '/networks/create', { Name: 'ns-conn', IPAM: { Config: [{ Subnet: '10.96.0.0/24' }] } });
    const probe = await ok(d, 'POST', '/containers/create?name=probe', { Image: 'alpine', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'ns-conn' } });
    await ok(d, 'POST', `/containers/${probe.Id}/start`);
    await ok(d, 'POST', '/networks/ns-conn/disconnect', { Container: 'probe' });

    const trace = await traceExecs(d.pid()!, `${d.dataRoot}/../execs-${backend}.txt`);
    const ops = await networkOps(d);
    const netExecs = await trace.stop();
    // ip's batch through nsenter is two execs per process; count processes by what ran.
    const tools = (execs: string[]) => execs.map((l) => /execve(?:at)?\("([^"]+)"/.exec(l)?.[1]?.split('/').pop() ?? '?');
    const netTools = tools(netExecs);
    t.diagnostic(`${backend}: ${ops} network operations, ${netExecs.length} execs (${[...new Set(netTools)].join(', ') || 'none'})`);

    const trace2 = await traceExecs(d.pid()!, `${d.dataRoot}/../execs2-${backend}.txt`);
    const c = await ok(d, 'POST', '/containers/create', { Image: 'alpine', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'ns-conn' } });
    await ok(d, 'POST', `/containers/${c.Id}/start`);
    await ok(d, 'DELETE', `/containers/${c.Id}?force=1`);
    const runExecs = await trace2.stop();
    const netnsDir = `${d.execRoot}/netns`;
    const network = runExecs.filter((l) => /"(ip|nft|nsenter|unshare|sysctl|bridge)"|\/(ip|nft|nsenter|unshare|sysctl|bridge)"/.test(l) || l.includes(netnsDir));
    t.diagnostic(`${backend}: run -d + rm -f: ${runExecs.length} execs (${tools(runExecs).join(', ')}); for the network: ${network.length}`);

    if (backend === 'agent') {
      assert.deepEqual(netExecs, [], 'network create/rm and connect/disconnect start no process');
      assert.deepEqual(network, [], 'container network set-up and teardown start no process');
    } else {
      assert.ok(netTools.filter((x) => x === 'ip').length >= ops, 'the command path spawns ip for every operation (the count works)');
      assert.ok(network.length > 0);
    }
  });
}
