import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns } from '../helpers/netns.js';
import { helperPath } from '../../src/common/native.js';
import { AgentKernel } from '../../src/kernel/agent.js';
import { BridgeDriver } from '../../src/drivers/bridge/bridge.js';
import { decodeResponse, encodeRequest, FLAG_BACKGROUND, type WireResponse } from '../../src/kernel/wire.js';
import type { Step } from '../../src/kernel/types.js';

// The kernel agent as a process: its protocol spoken directly (malformed frames, lanes), its
// death handled by the client (restart, read-only retry, clean failure of a plan), a kill in the
// middle of a plan repaired by the reconcile path, and its namespace sockets not keeping a
// deleted namespace alive.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bridges = (ns: { run(c: string, a: string[]): string }) =>
  (JSON.parse(ns.run('ip', ['-j', 'link', 'show', 'type', 'bridge']) || '[]') as { ifname: string }[]).map((l) => l.ifname);

/** The agent binary on raw stdio: frames in, frames out. */
function rawAgent(netns: string) {
  const child = spawn(helperPath('weft-kernel'), ['--netns', netns], { stdio: ['pipe', 'pipe', 'pipe'] });
  let inbox = Buffer.alloc(0);
  const answers: WireResponse[] = [];
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    inbox = Buffer.concat([inbox, chunk]);
    while (inbox.length >= 4 && inbox.length >= 4 + inbox.readUInt32BE(0)) {
      const len = inbox.readUInt32BE(0);
      answers.push(decodeResponse(inbox.subarray(4, 4 + len)));
      inbox = inbox.subarray(4 + len);
      waiters.splice(0).forEach((w) => w());
    }
  });
  return {
    child,
    answers,
    send: (frame: Buffer) => child.stdin.write(frame),
    async next(count: number): Promise<WireResponse[]> {
      while (answers.length < count) await new Promise<void>((r) => waiters.push(r));
      return answers.slice(0, count);
    },
    close: () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('close', () => r()), child.kill('SIGKILL')))),
  };
}

test('kernel agent: protocol, lanes, death and restart, crash mid-plan, namespace sockets', async (t) => {
  const ns = createTestNetns('wa');
  const dir = mkdtempSync(join(tmpdir(), 'weft-agent-'));
  t.after(() => {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  await t.test('malformed frames and unknown operations are answered, not fatal', async () => {
    const a = rawAgent(ns.path);
    try {
      const bad = Buffer.alloc(4 + 9);
      bad.writeUInt32BE(9, 0);
      bad.writeUInt32BE(41, 4); // id 41, flags 0, nsteps 1, then no step at all
      bad.writeUInt16BE(1, 9);
      a.send(bad);
      const unknown = encodeRequest(42, [{ op: 'netns.exists', path: '/' }, { op: 'netns.exists', path: '/' }], 0);
      unknown[11] = 200; // first step's op
      a.send(unknown);
      a.send(encodeRequest(43, [{ op: 'netns.exists', path: ns.path }], 0));
      const [r1, r2, r3] = await a.next(3);
      assert.equal(r1!.id, 41);
      assert.deepEqual(r1!.results.map((r) => [r.index, r.code]), [[0xffff, 'EPROTO']]);
      assert.equal(r2!.id, 42);
      assert.deepEqual(r2!.results.map((r) => [r.index, r.code]), [[0, 'EPROTO']], 'the plan stops at the unknown step');
      assert.deepEqual(r3!.results.map((r) => [r.code, r.data]), [['', 'true']]);
      assert.ok(r3!.execUs >= 0);
    } finally {
      await a.close();
    }
  });

  await t.test('the background lane does not hold up the foreground', async () => {
    const a = rawAgent(ns.path);
    try {
      const names = Array.from({ length: 40 }, (_, i) => `wbg${i}`);
      a.send(encodeRequest(1, names.map((name) => ({ op: 'link.add', name, kind: 'veth', peer: { name: `${name}p` } }) as Step), 0));
      await a.next(1);
      a.send(encodeRequest(2, names.map((name) => ({ op: 'link.del', name }) as Step), FLAG_BACKGROUND)); // ~20 ms each
      a.send(encodeRequest(3, [{ op: 'link.list' }], 0));
      const [, second, third] = await a.next(3);
      assert.equal(second!.id, 3, 'the foreground answer came first');
      assert.equal(third!.id, 2);
      assert.ok(third!.results.every((r) => r.errno === 0));
    } finally {
      await a.close();
    }
  });

  await t.test('a dead agent is restarted: a read-only request is asked again, a plan fails cleanly', async () => {
    const k = new AgentKernel({ netns: ns.path });
    try {
      assert.equal(await k.netnsExists(ns.path), true);
      const first = k.agent.pid()!;
      process.kill(first, 'SIGKILL');
      assert.equal(await k.netnsExists(ns.path), true, 'a query after the death starts a new agent');
      assert.equal(k.agent.starts, 2);
      // Killed while a plan is in flight: the plan fails with what happened, the next one works.
      const plan: Step[] = Array.from({ length: 200 }, (_, i) => ({ op: 'link.add', name: `br-d${String(i).padStart(10, '0')}`, kind: 'bridge' }));
      const pending = k.apply(plan);
      const query = k.links(); // read-only, sent behind the plan: retried on the next agent
      process.kill(k.agent.pid()!, 'SIGKILL');
      await assert.rejects(pending, /kernel agent was killed \(SIGKILL\) during "link add br-d0000000000 type bridge" \(\+199 steps\); the operation did not complete/);
      assert.ok(Array.isArray(await query));
      assert.equal(k.agent.starts, 3);
      await k.apply(plan.map((s) => ({ op: 'link.del', name: (s as { name: string }).name, tolerate: 'gone' })));
    } finally {
      await k.close();
    }
  });

  await t.test('killed in the middle of a plan: the reconcile path leaves nothing behind', async () => {
    const k = new AgentKernel({ netns: ns.path });
    try {
      // weft-looking bridges (br-<12 hex>) no record explains: what an interrupted realization leaves.
      const plan: Step[] = Array.from({ length: 400 }, (_, i) => ({ op: 'link.add', name: `br-${i.toString(16).padStart(12, '0')}`, kind: 'bridge' }));
      const pending = k.apply(plan).then(() => 'completed', (e: Error) => e.message);
      for (let i = 0; i < 2500 && bridges(ns).length < 5; i++) await sleep(2);
      process.kill(k.agent.pid()!, 'SIGKILL');
      const outcome = await pending;
      const left = bridges(ns).length;
      t.diagnostic(`killed after ${left} of ${plan.length} bridges: ${outcome.slice(0, 80)}`);
      assert.match(outcome, /kernel agent was killed/);
      assert.ok(left > 0 && left < plan.length, 'killed mid-plan');
      const driver = new BridgeDriver({ kernel: k });
      await driver.restore([], new Map());
      assert.deepEqual(bridges(ns), [], 'restore removed every orphan');
    } finally {
      await k.close();
    }
  });

  await t.test('sockets in a namespace do not keep it alive once it is deleted', async () => {
    const k = new AgentKernel({ netns: ns.path });
    const own = join(dir, 'own');
    const other = createTestNetns('wao');
    let otherDeleted = false;
    try {
      // Deleted through the agent: its veth peer goes at once.
      await k.createNetns(own);
      await k.apply([{ op: 'link.add', name: 'wown', kind: 'veth', peer: { name: 'eth0', netns: own } }, { op: 'link.set', ns: own, name: 'eth0', up: true }]);
      await k.deleteNetns(own);
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) gone = !bridgesOrVeth(ns).includes('wown') || (await sleep(20), false);
      assert.ok(gone, 'the namespace died with its last bind');
      // Deleted by someone else (ip netns del): dropped by the next sweep (within 5 s).
      await k.apply([{ op: 'link.add', name: 'wext', kind: 'veth', peer: { name: 'eth0', netns: other.path } }, { op: 'link.set', ns: other.path, name: 'eth0', up: true }]);
      execFileSync('ip', ['netns', 'del', other.name]);
      otherDeleted = true;
      gone = false;
      for (let i = 0; i < 200 && !gone; i++) gone = !bridgesOrVeth(ns).includes('wext') || (await sleep(50), false);
      assert.ok(gone, 'the agent dropped its socket in the deleted namespace');
    } finally {
      if (!otherDeleted) other.destroy();
      await k.close();
    }
  });
});

function bridgesOrVeth(ns: { run(c: string, a: string[]): string }): string[] {
  return (JSON.parse(ns.run('ip', ['-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname);
}
