import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Paths, signalInit, signalNumber, startTimeOf } from '../../src/runtime/state.js';

// Signalling a container's init without `runc kill`: only when runc's state proves the pid is
// still the process it started (pid reuse), with a real child process standing in for init.

function world(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-sig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = new Paths(join(dir, 'exec'), join(dir, 'data'));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
  const state = (s: object) => {
    mkdirSync(join(paths.runcRoot, 'c1'), { recursive: true });
    writeFileSync(join(paths.runcRoot, 'c1', 'state.json'), JSON.stringify(s));
  };
  return { paths, child, exited, state };
}

test('signal names and numbers as runc takes them', () => {
  assert.equal(signalNumber('KILL'), 9);
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber('9'), 9);
  assert.equal(signalNumber('RTMIN+3'), null, 'left to runc');
  assert.equal(signalNumber('0'), null);
  assert.equal(signalNumber('NOPE'), null);
});

test('the init process runc recorded is signalled', async (t) => {
  const w = world(t);
  const start = startTimeOf(w.child.pid!);
  assert.ok(start !== null && start > 0);
  w.state({ init_process_pid: w.child.pid, init_process_start: start });
  assert.equal(signalInit(w.paths, 'c1', 'TERM'), true);
  assert.equal(await w.exited, 'SIGTERM');
});

test('a pid whose start time is not runc\'s (reused), no state, or an unknown signal: left to runc, nothing sent', async (t) => {
  const w = world(t);
  const start = startTimeOf(w.child.pid!)!;
  w.state({ init_process_pid: w.child.pid, init_process_start: start + 1 });
  assert.equal(signalInit(w.paths, 'c1', 'KILL'), false);
  assert.equal(signalInit(w.paths, 'other', 'KILL'), false, 'no state.json');
  w.state({ init_process_pid: w.child.pid, init_process_start: start });
  assert.equal(signalInit(w.paths, 'c1', 'RTMIN+3'), false);
  w.state({ init_process_pid: 'x', init_process_start: start });
  assert.equal(signalInit(w.paths, 'c1', 'KILL'), false);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(w.child.exitCode, null, 'still running');
  assert.equal(w.child.signalCode, null);
});
