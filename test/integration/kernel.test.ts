import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns } from '../helpers/netns.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { WeftError } from '../../src/common/errors.js';
import { baseTableScript, fullTableScript } from '../../src/kernel/nft.js';

test('Kernel in a test namespace', async (t) => {
  const ns = createTestNetns('wk');
  const dir = mkdtempSync(join(tmpdir(), 'weft-kernel-'));
  t.after(() => {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const k = new Kernel({ netns: ns.path });

  await t.test('ipBatch runs in the namespace; force reports failing lines', async () => {
    await k.ipBatch(['link add br-k type bridge', 'link set br-k up']);
    assert.match(ns.run('ip', ['-br', 'link', 'show', 'br-k']), /br-k/);
    const failures = await k.ipBatch(['link add br-k type bridge', 'link set br-k mtu 1400', 'link del nosuch'], { force: true });
    assert.deepEqual(failures.map((f) => f.line), [1, 3]);
    await assert.rejects(k.ipBatch(['link add br-k type bridge']), (e: unknown) => e instanceof WeftError && e.kind === 'System' && /File exists/.test(e.message));
    const links = await k.ipJson<{ ifname: string; mtu: number }[]>(['link', 'show', 'br-k']);
    assert.equal(links[0].mtu, 1400);
  });

  await t.test('nft: base table checks and applies, json reads it back', async () => {
    await k.nftCheck(baseTableScript());
    const net = { bridge: 'br-k', icc: true, masquerade: true, internal: false, subnets4: ['10.9.0.0/24'], subnets6: ['fd00:9::/64'] };
    await k.nftApply(fullTableScript([net]));
    await k.nftApply(fullTableScript([net])); // idempotent
    const set = await k.nftJson(['list', 'set', 'inet', 'weft', 'masq4']);
    assert.deepEqual(set.find((o) => o.set)?.set.elem, [{ prefix: { addr: '10.9.0.0', len: 24 } }]);
    await assert.rejects(k.nftApply('add rule inet weft nosuchchain accept\n'), (e: unknown) => e instanceof WeftError && e.kind === 'System');
  });

  await t.test('sysctls are set inside the namespace', async () => {
    await k.sysctls({ 'net.ipv4.ip_forward': '1' });
    await k.sysctls({ 'net.no.such.key': '1' }, { optional: true });
    assert.equal(ns.run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), '1');
  });

  await t.test('createNetns / deleteNetns', async () => {
    const p = join(dir, 'netns', 'sb');
    await k.createNetns(p);
    await k.createNetns(p); // idempotent: same namespace kept
    assert.ok(await k.netnsExists(p));
    const lo = await k.ipJson<{ flags: string[] }[]>(['link', 'show', 'lo'], { netns: p });
    assert.ok(lo[0].flags.includes('UP'));
    // ip accepts a path for `netns`: move a veth end into the sandbox
    await k.ipBatch([`link add vk0 type veth peer name vk1 netns ${p}`]);
    assert.equal((await k.ipJson<unknown[]>(['link', 'show', 'vk1'], { netns: p })).length, 1);
    await k.deleteNetns(p);
    await k.deleteNetns(p); // already gone
    assert.ok(!existsSync(p));
    assert.ok(!(await k.netnsExists(p)));
    // the sandbox dies with its namespace, and its veth with it (the kernel does that
    // asynchronously, in its netns cleanup work)
    let left: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      left = await k.ipJson<unknown[]>(['link', 'show', 'type', 'veth']);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(left, []);
  });
});
