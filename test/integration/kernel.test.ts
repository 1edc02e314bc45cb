import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';
import { createKernel, KERNEL_BACKENDS, PlanError, type Kernel } from '../../src/kernel/index.js';
import { WeftError } from '../../src/common/errors.js';
import { baseTableScript, fullTableScript } from '../../src/kernel/nft.js';

// Every kernel operation, through both backends (the agent and the command path), in a throwaway
// namespace; each effect is checked with the real `ip`/`bridge`/`nft` inside it.

const pingCmd = spawnSync('ping', ['-V']).error ? ['busybox', 'ping'] : ['ping'];
const json = (ns: TestNetns, args: string[]) => JSON.parse(ns.run(args[0]!, ['-j', ...args.slice(1)]) || '[]');
const linkOf = (ns: TestNetns, name: string, inNs?: string) => {
  const out = inNs ? JSON.parse(ns.run('nsenter', [`--net=${inNs}`, 'ip', '-j', '-d', 'link', 'show', name])) : json(ns, ['ip', '-d', 'link', 'show', name]);
  return out[0];
};

for (const backend of KERNEL_BACKENDS) {
  test(`kernel (${backend}): every operation in a test namespace`, async (t) => {
    const ns = createTestNetns('wk');
    const dir = mkdtempSync(join(tmpdir(), 'weft-kernel-'));
    const k: Kernel = createKernel({ backend, netns: ns.path });
    const sb = join(dir, 'netns', 'sb');
    t.after(async () => {
      await k.deleteNetns(sb).catch(() => undefined);
      await k.close();
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    await t.test('namespaces: create (lo up), exists, idempotent, delete', async () => {
      await k.createNetns(sb);
      await k.createNetns(sb); // an existing namespace is kept
      assert.equal(await k.netnsExists(sb), true);
      assert.equal(await k.netnsExists(join(dir, 'nope')), false);
      const lo = await k.link('lo', { ns: sb });
      assert.equal(lo?.up, true);
    });

    await t.test('links: bridge, veth with its peer in the sandbox, set, rename, alias, hairpin, del', async () => {
      await k.apply([
        { op: 'link.add', name: 'br-k', kind: 'bridge' },
        { op: 'link.set', name: 'br-k', mac: '02:42:0a:00:00:01', mtu: 1400, up: true },
        { op: 'link.add', name: 'vk0', kind: 'veth', mtu: 1400, peer: { name: 'eth0', mtu: 1400, mac: '02:42:0a:00:00:02', netns: sb } },
        { op: 'link.set', name: 'vk0', master: 'br-k', up: true },
        { op: 'link.set', name: 'vk0', hairpin: true },
        { op: 'link.set', name: 'vk0', alias: 'weft-test' },
      ]);
      const br = linkOf(ns, 'br-k');
      assert.equal(br.mtu, 1400);
      assert.equal(br.address, '02:42:0a:00:00:01');
      assert.ok(br.flags.includes('UP'));
      const v = linkOf(ns, 'vk0');
      assert.equal(v.master, 'br-k');
      assert.equal(v.ifalias, 'weft-test');
      assert.equal(v.linkinfo.info_slave_data.hairpin, true);
      const peer = linkOf(ns, 'eth0', sb);
      assert.equal(peer.address, '02:42:0a:00:00:02');
      assert.equal(peer.mtu, 1400);
      const listed = await k.links();
      assert.deepEqual(
        listed.filter((l) => l.name !== 'lo').map((l) => [l.name, l.kind, l.master ?? '', l.alias ?? '', l.up]),
        [['br-k', 'bridge', '', '', true], ['vk0', 'veth', 'br-k', 'weft-test', true]],
      );
      assert.equal((await k.link('vk0'))?.master, 'br-k');
      assert.equal(await k.link('nosuch'), null);
      await k.apply([
        { op: 'link.set', ns: sb, name: 'eth0', up: false },
        { op: 'link.set', ns: sb, name: 'eth0', rename: 'zk0' },
        { op: 'link.set', name: 'vk0', up: false, master: null },
      ]);
      assert.equal(linkOf(ns, 'vk0').master, undefined);
      assert.equal(linkOf(ns, 'zk0', sb).ifname, 'zk0');
      await k.apply([{ op: 'link.del', name: 'vk0' }]);
      assert.equal((await k.links({ ns: sb })).map((l) => l.name).join(), 'lo', 'the peer went with it');
    });

    await t.test('links: move into a namespace; macvlan made straight inside one; vxlan', async () => {
      await k.apply([
        { op: 'link.add', name: 'mv0', kind: 'veth', peer: { name: 'mv1' } },
        { op: 'link.set', name: 'mv1', netns: sb },
        { op: 'link.add', name: 'eth3', kind: 'macvlan', parent: 'mv0', netns: sb, mac: '02:42:0a:00:00:09', mode: 'bridge' },
        { op: 'link.add', name: 'vx0', kind: 'vxlan', parent: 'mv0', vxlan: { vni: 42, local: '127.0.0.1', port: 4789, learning: false, ttl: 5 } },
      ]);
      assert.equal(linkOf(ns, 'mv1', sb).ifname, 'mv1');
      const mv = linkOf(ns, 'eth3', sb);
      assert.equal(mv.linkinfo.info_kind, 'macvlan');
      assert.equal(mv.linkinfo.info_data.mode, 'bridge');
      assert.equal(mv.address, '02:42:0a:00:00:09');
      const vx = linkOf(ns, 'vx0').linkinfo.info_data;
      assert.equal(vx.id, 42);
      assert.equal(vx.port, 4789);
      assert.equal(vx.learning, false);
      assert.equal(vx.ttl, 5);
      assert.equal(vx.local, '127.0.0.1');
    });

    await t.test('FDB and neighbour entries on a vxlan device', async () => {
      await k.apply([
        { op: 'fdb.append', dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.77.0.2' },
        { op: 'fdb.append', dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.77.0.3' },
        { op: 'fdb.replace', dev: 'vx0', mac: '02:42:0a:01:00:05', dst: '10.77.0.2' },
        { op: 'neigh.replace', dev: 'vx0', ip: '10.1.0.5', mac: '02:42:0a:01:00:05' },
      ]);
      const fdb = json(ns, ['bridge', 'fdb', 'show', 'dev', 'vx0']) as { mac: string; dst?: string }[];
      assert.deepEqual(fdb.filter((e) => e.dst).map((e) => `${e.mac} ${e.dst}`).sort(), ['00:00:00:00:00:00 10.77.0.2', '00:00:00:00:00:00 10.77.0.3', '02:42:0a:01:00:05 10.77.0.2']);
      const neigh = json(ns, ['ip', 'neigh', 'show', 'dev', 'vx0']) as { dst: string; lladdr: string; state: string[] }[];
      assert.deepEqual(neigh.map((n) => [n.dst, n.lladdr, n.state.join()]), [['10.1.0.5', '02:42:0a:01:00:05', 'PERMANENT']]);
      await k.apply([
        { op: 'fdb.del', dev: 'vx0', mac: '02:42:0a:01:00:05', dst: '10.77.0.2' },
        { op: 'neigh.del', dev: 'vx0', ip: '10.1.0.5' },
        { op: 'neigh.del', dev: 'vx0', ip: '10.1.0.5', tolerate: 'gone' },
      ]);
      assert.equal((json(ns, ['bridge', 'fdb', 'show', 'dev', 'vx0']) as { mac: string }[]).filter((e) => e.mac === '02:42:0a:01:00:05').length, 0);
      assert.deepEqual(json(ns, ['ip', 'neigh', 'show', 'dev', 'vx0']), []);
      await k.apply([{ op: 'link.del', name: 'vx0' }, { op: 'link.del', name: 'mv0' }]);
    });

    await t.test('addresses and routes, in our namespace and in the sandbox', async () => {
      await k.apply([
        { op: 'addr.replace', dev: 'br-k', cidr: '10.9.0.1/24', broadcast: true },
        { op: 'addr.replace', dev: 'br-k', cidr: 'fd00:9::1/64', nodad: true },
        { op: 'addr.add', dev: 'br-k', cidr: '10.8.0.1/24', noprefixroute: true },
        { op: 'route.add', dst: '10.7.0.0/24', dev: 'br-k', src: '10.9.0.1', metric: 7 },
        { op: 'link.add', name: 'vk1', kind: 'veth', peer: { name: 'eth1', netns: sb } },
        { op: 'link.set', name: 'vk1', master: 'br-k', up: true },
        { op: 'addr.replace', ns: sb, dev: 'eth1', cidr: '10.9.0.2/24', broadcast: true },
        { op: 'addr.replace', ns: sb, dev: 'eth1', cidr: 'fd00:9::2/64', nodad: true },
        { op: 'link.set', ns: sb, name: 'eth1', up: true },
        { op: 'route.replace', ns: sb, dst: 'default', via: '10.9.0.1', dev: 'eth1' },
        { op: 'route.replace', ns: sb, dst: 'default', via: 'fd00:9::1', dev: 'eth1' },
      ]);
      const addrs = json(ns, ['ip', 'addr', 'show', 'br-k'])[0].addr_info as { local: string; prefixlen: number; broadcast?: string; noprefixroute?: boolean; nodad?: boolean }[];
      const a9 = addrs.find((a) => a.local === '10.9.0.1')!;
      assert.equal(a9.broadcast, '10.9.0.255');
      assert.equal(addrs.find((a) => a.local === '10.8.0.1')?.noprefixroute, true);
      assert.equal(addrs.find((a) => a.local === 'fd00:9::1')?.nodad, true);
      const r = json(ns, ['ip', 'route', 'show', '10.7.0.0/24'])[0];
      assert.deepEqual([r.dev, r.prefsrc, r.metric, r.scope], ['br-k', '10.9.0.1', 7, 'link']);
      const routes = await k.routes(4);
      assert.ok(routes.some((x) => x.dst === '10.7.0.0/24' && x.dev === 'br-k'));
      assert.ok(!routes.some((x) => x.dst.startsWith('10.8.')), 'noprefixroute: no subnet route');
      assert.deepEqual((await k.routes(4, { ns: sb })).find((x) => x.dst === 'default'), { dst: 'default', dev: 'eth1', gateway: '10.9.0.1' });
      assert.equal((await k.routes(6, { ns: sb })).find((x) => x.dst === 'default')?.gateway, 'fd00:9::1');
      await k.apply([
        { op: 'route.del', dst: '10.7.0.0/24', dev: 'br-k' },
        { op: 'route.del', dst: '10.7.0.0/24', dev: 'br-k', tolerate: 'gone' },
        { op: 'addr.del', dev: 'br-k', cidr: '10.8.0.1/24' },
        { op: 'addr.del', dev: 'br-k', cidr: '10.8.0.1/24', tolerate: 'gone' },
      ]);
      assert.deepEqual(json(ns, ['ip', 'route', 'show', '10.7.0.0/24']), []);
      assert.ok(!(json(ns, ['ip', 'addr', 'show', 'br-k'])[0].addr_info as { local: string }[]).some((a) => a.local === '10.8.0.1'));
      ns.run('nsenter', [`--net=${sb}`, ...pingCmd, '-c1', '-W1', '10.9.0.1']);
    });

    await t.test('failures: errno names and the kernel\'s message; tolerance; force; the first failure ends a plan', async () => {
      const failures = await k.apply([{ op: 'link.add', name: 'br-k', kind: 'bridge' }, { op: 'link.set', name: 'br-k', mtu: 1300 }, { op: 'link.del', name: 'nosuch' }], { force: true });
      assert.deepEqual(failures.map((f) => [f.index, f.code]), [[0, 'EEXIST'], [2, 'ENODEV']]);
      assert.match(failures[0]!.message, /File exists/);
      assert.match(failures[1]!.message, /nosuch/);
      assert.equal(linkOf(ns, 'br-k').mtu, 1300, 'force: the step after a failure ran');
      await assert.rejects(k.apply([{ op: 'link.add', name: 'br-k', kind: 'bridge' }]), (e: unknown) => e instanceof PlanError && e.kind === 'System' && /"link add br-k type bridge": .*File exists/.test(e.message) && e.failures[0]!.code === 'EEXIST');
      assert.deepEqual(await k.apply([{ op: 'link.add', name: 'br-k', kind: 'bridge', tolerate: 'exists' }, { op: 'link.del', name: 'nosuch', tolerate: 'gone' }]), []);
      await assert.rejects(k.apply([{ op: 'link.del', name: 'nosuch' }, { op: 'link.set', name: 'br-k', mtu: 1250 }]), PlanError);
      assert.equal(linkOf(ns, 'br-k').mtu, 1300, 'without force, nothing after the failure ran');
      await assert.rejects(k.apply([{ op: 'addr.replace', dev: 'nosuch', cidr: '10.1.1.1/24' }]), (e: unknown) => e instanceof PlanError && e.failures[0]!.code === 'ENODEV');
      await assert.rejects(k.apply([{ op: 'link.set', name: 'br-k', up: true, tolerate: 'any' }, { op: 'addr.replace', ns: join(dir, 'nope'), dev: 'x', cidr: '10.1.1.1/24' }]), /nope/);
    });

    await t.test('nft: check, apply (idempotent), JSON listing, refusal', async () => {
      await k.nftCheck(baseTableScript());
      const net = { bridge: 'br-k', icc: true, masquerade: true, internal: false, subnets4: ['10.9.0.0/24'], subnets6: ['fd00:9::/64'] };
      await k.nftApply(fullTableScript([net]));
      await k.nftApply(fullTableScript([net]));
      const set = await k.nftList(['list', 'set', 'inet', 'weft', 'masq4']);
      assert.deepEqual(set.find((o) => o.set)?.set.elem, [{ prefix: { addr: '10.9.0.0', len: 24 } }]);
      assert.match(ns.run('nft', ['list', 'set', 'inet', 'weft', 'bridges']), /"br-k"/);
      await assert.rejects(k.nftApply('add rule inet weft nosuchchain accept\n'), (e: unknown) => e instanceof WeftError && e.kind === 'System' && /No such file or directory/.test(e.message));
      await assert.rejects(k.nftList(['list', 'set', 'inet', 'weft', 'nosuchset']));
    });

    await t.test('sysctls in our namespace and in the sandbox; optional keys', async () => {
      await k.sysctls({ 'net.ipv4.ip_forward': '1' });
      await k.sysctls({ 'net.no.such.key': '1' }, { optional: true });
      await assert.rejects(k.sysctls({ 'net.no.such.key': '1' }), /net\.no\.such\.key/);
      assert.equal(ns.run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), '1');
      await k.sysctls({ 'net.ipv4.ip_forward': '1' }, { ns: sb });
      assert.equal(ns.run('nsenter', [`--net=${sb}`, 'sysctl', '-n', 'net.ipv4.ip_forward']).trim(), '1');
    });

    await t.test('links this kernel cannot make fail with EOPNOTSUPP (no dummy, no 8021q here)', async () => {
      const probe = ns.run('sh', ['-c', 'ip link add wkd0 type dummy 2>/dev/null && ip link del wkd0 && echo yes || echo no']).trim();
      t.diagnostic(`dummy links on this kernel: ${probe}`);
      if (probe === 'yes') return;
      const [f] = await k.apply([{ op: 'link.add', name: 'wkd0', kind: 'dummy' }], { force: true });
      assert.equal(f?.code, 'EOPNOTSUPP');
    });

    await t.test('deleting the namespace takes its links; deleting again is fine', async () => {
      await k.deleteNetns(sb);
      await k.deleteNetns(sb);
      assert.ok(!existsSync(sb));
      assert.equal(await k.netnsExists(sb), false);
      // The kernel destroys a namespace asynchronously (its cleanup work): vk1's peer goes with it.
      let left: string[] = [];
      for (let i = 0; i < 100; i++) {
        left = (await k.links()).filter((l) => l.kind === 'veth').map((l) => l.name);
        if (left.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(left, []);
    });
  });
}
