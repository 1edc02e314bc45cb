import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { until, within } from '../helpers/clients.js';

// Issue 11, defect 3: weftd SIGKILLed in the middle of `docker run` (by a fault point, between two
// steps of the start) left a container the runtime had started but the store did not know about:
// after a restart it was "Created" while its process ran on, a later `start` made it "Up" on a
// network it could not reach, and `rm -f` waited forever for an exit nobody reported. A restart
// must end such a run and mark the container exited with its sandbox torn down; after that the
// container starts cleanly, and `rm -f` never waits unbounded.

const MARK = '424242'; // the victim's sleep argument, to find its processes

/** Processes, anywhere on the machine, of this container: its main process and its conmon. */
function processesOf(id: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state !== 'Z' && (cmd === `sleep ${MARK}` || (cmd.includes('conmon') && cmd.includes(`-c ${id}`)))) out.push(`${e} ${cmd.slice(0, 60)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

for (const point of ['container.start.after-runtime', 'runtime.start.after-runc-start', 'runtime.start.after-create']) {
  test(`weftd killed at ${point} during docker run: the restart ends the lost run; start and rm -f work`, { timeout: 180_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
    const d: Daemon = await startDaemon('weft', { daemonEnv: { WEFT_FAULTS: `${point}=kill` } });
    t.after(() => d.stop());
    await d.dockerOk(['network', 'create', '--subnet', '10.66.0.0/24', 'crashnet']);
    const run = await d.docker(['run', '-d', '--name', 'victim', '--network', 'crashnet', 'alpine', 'sleep', MARK]);
    assert.notEqual(run.code, 0, 'the daemon died under the CLI');
    assert.match(readFileSync(d.logFile, 'utf8'), new RegExp(`"faultPoint":"${point.replace(/\./g, '\\.')}"`));
    assert.equal(d.pid(), undefined);

    await d.restart({}); // without the fault
    const id = await d.dockerOk(['inspect', '-f', '{{.Id}}', 'victim']);
    const state = JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .State}}', 'victim'])) as { Status: string; Running: boolean; Pid: number };
    assert.equal(state.Running, false, `not running after the restart: ${JSON.stringify(state)}`);
    assert.equal(state.Pid, 0);
    assert.ok(['exited', 'created'].includes(state.Status), state.Status);
    if (point !== 'runtime.start.after-create') assert.equal(state.Status, 'exited', 'runc had started it: it ran, and is now exited');
    assert.ok(await until(() => processesOf(id).length === 0, 5000), `the lost run's processes are gone: ${processesOf(id).join('; ')}`);
    assert.deepEqual(readdirSync(`${d.execRoot}/netns`), [], 'its network namespace is gone');
    assert.doesNotMatch(d.netns.run('ip', ['-o', 'link', 'show', 'type', 'veth']), /veth/, 'its veth is gone');
    assert.equal(existsSync(`${d.execRoot}/containers/${id}/rootfs/bin`), false, 'its rootfs is not left mounted');

    // It starts cleanly: a fresh run, on a sandbox that reaches its gateway.
    await d.dockerOk(['start', 'victim']);
    assert.match(await d.dockerOk(['exec', 'victim', 'ping', '-c', '1', '-W', '2', '10.66.0.1']), /1 packets received/);
    const rm = await within(d.docker(['rm', '-f', 'victim'], { timeoutMs: 20_000 }), 20_000);
    assert.ok(rm !== 'timeout' && rm.code === 0, `rm -f answered: ${JSON.stringify(rm)}`);
    assert.ok(await until(() => processesOf(id).length === 0, 5000), processesOf(id).join('; '));
  });
}

test('rm -f is bounded when a lost process exits unreported, or its pid now belongs to another process', { timeout: 120_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  const decoy = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.after(async () => {
    decoy.kill('SIGKILL');
    await d.stop();
  });
  await d.dockerOk(['run', '-d', '--name', 'gone', 'alpine', 'sleep', MARK]);
  await d.dockerOk(['run', '-d', '--name', 'reused', 'alpine', 'sleep', MARK]);
  const gone = await d.dockerOk(['inspect', '-f', '{{.Id}}', 'gone']);
  const reused = await d.dockerOk(['inspect', '-f', '{{.Id}}', 'reused']);
  // The daemon dies; meanwhile both containers and their conmons die without a trace (no exit
  // file), as when the OOM killer takes them, and the pid of one is reused by another process.
  await d.kill9();
  for (const id of [gone, reused]) {
    process.kill(Number(readFileSync(`${d.execRoot}/containers/${id}/conmon.pid`, 'utf8')), 'SIGKILL');
    process.kill(Number(readFileSync(`${d.execRoot}/containers/${id}/pidfile`, 'utf8')), 'SIGKILL');
  }
  assert.ok(await until(() => processesOf(gone).length + processesOf(reused).length === 0, 5000));
  writeFileSync(`${d.execRoot}/containers/${reused}/pidfile`, String(decoy.pid));
  await d.restart();
  assert.equal(await d.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.Running}}', 'gone']), 'exited false');
  for (const name of ['gone', 'reused']) {
    const rm = await within(d.docker(['rm', '-f', name], { timeoutMs: 20_000 }), 20_000);
    assert.ok(rm !== 'timeout' && rm.code === 0, `rm -f ${name} answered: ${JSON.stringify(rm)}`);
  }
  assert.equal(decoy.exitCode, null, 'the process that took the pid was left alone');
  assert.deepEqual(readdirSync(`${d.execRoot}/netns`), []);
});
