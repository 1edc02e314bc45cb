import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { RecordFeed, testDnsService } from '../helpers/record-feed.js';
import type { ContainerRecord, NetworkRecord } from '../../src/common/model.js';
import { DnsServer } from '../../src/dns/server.js';
import { Upstream } from '../../src/dns/upstream.js';
import { startStub } from '../integration/fixtures/dns-stub.js';
import { tcpAsk } from '../integration/fixtures/dns-client.js';

// Server and forwarder over loopback sockets (127.0.0.0/8 is all local, so "containers" get
// 127.x addresses and queries are sent from them): no namespace needed.

const hex = () => randomBytes(32).toString('hex');
const port = () => 20000 + Math.floor(Math.random() * 30000);
const quiet = { debug() {}, info() {}, warn() {} };
type Decoded = dnsPacket.DecodedPacket & { rcode: string };

function q(name: string, type: dnsPacket.RecordType = 'A', id = 1): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

function udpAsk(server: string, p: number, msg: Buffer, from = '127.0.0.1', timeoutMs = 2000): Promise<Decoded | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m) as Decoded);
    });
    s.bind(0, from, () => s.send(msg, p, server));
  });
}

test('upstream: forwards, retries truncated answers over TCP, coalesces, remembers dead servers', async () => {
  const p = port();
  const good = await startStub({ address: '127.0.0.1', port: p, records: { 'ext.test': { A: ['192.0.2.7'] }, 'big.test': { A: ['192.0.2.8'] } }, truncateUdp: ['big.test'] });
  const dead = await startStub({ address: '127.0.0.2', port: p, records: {}, silent: true });
  const up = new Upstream({ servers: () => [`127.0.0.2:${p}`, `127.0.0.1:${p}`], timeoutMs: 200, downMs: 400 });
  try {
    let t = Date.now();
    const r1 = dnsPacket.decode((await up.query(q('ext.test', 'A', 42)))!);
    assert.equal(r1.id, 42);
    assert.equal((r1.answers![0] as { data: string }).data, '192.0.2.7');
    assert.ok(Date.now() - t >= 190, 'the dead server cost one timeout');
    t = Date.now();
    await up.query(q('ext.test', 'AAAA', 43));
    assert.ok(Date.now() - t < 150, `then it is skipped (${Date.now() - t} ms)`);
    assert.equal(dead.counts.udp, 1);
    // Truncated over UDP → TCP.
    const big = dnsPacket.decode((await up.query(q('big.test', 'A', 44)))!);
    assert.equal(big.flag_tc, false);
    assert.equal((big.answers![0] as { data: string }).data, '192.0.2.8');
    assert.equal(good.counts.tcp, 1);
    // A TCP query goes over TCP.
    await up.query(q('ext.test', 'A', 45), true);
    assert.equal(good.counts.tcp, 2);
    // NXDOMAIN passes through.
    assert.equal((dnsPacket.decode((await up.query(q('nope.test')))!) as Decoded).rcode, 'NXDOMAIN');
    // Coalescing: identical queries in flight share one upstream exchange, each gets its own id.
    good.set({ delayMs: 50 });
    const before = good.counts.byName['ext.test'];
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => up.query(q('ext.test', 'A', 100 + i))));
    assert.deepEqual(
      replies.map((r) => dnsPacket.decode(r!).id),
      Array.from({ length: 10 }, (_, i) => 100 + i),
    );
    assert.equal(good.counts.byName['ext.test'] - before, 1);
    // After downMs the dead server is tried again (once).
    await new Promise((r) => setTimeout(r, 450));
    await up.query(q('ext.test', 'A', 46));
    assert.equal(dead.counts.udp, 2);
    good.set({ delayMs: 0 });
  } finally {
    up.close();
    await good.close();
    await dead.close();
  }
});

test('upstream: bounded in-flight work, all servers dead → null', async () => {
  const p = port();
  const slow = await startStub({ address: '127.0.0.1', port: p, records: {}, delayMs: 100 });
  const up = new Upstream({ servers: () => [`127.0.0.1:${p}`], timeoutMs: 500, maxPending: 2 });
  try {
    const rs = await Promise.all([up.query(q('a.test')), up.query(q('b.test')), up.query(q('c.test'))]);
    assert.ok(rs[0] && rs[1]);
    assert.equal(rs[2], null);
    assert.equal(up.stats().overload, 1);
    slow.set({ silent: true });
    assert.equal(await up.query(q('d.test')), null);
    const none = new Upstream({ servers: () => [] });
    assert.equal(await none.query(q('x.test')), null);
    none.close();
  } finally {
    up.close();
    await slow.close();
  }
});

function net1(name: string, subnet: string, gateway: string, internal = false): NetworkRecord {
  return {
    id: hex(), name, driver: 'bridge', scope: 'local', created: '', enableIPv6: false, internal, attachable: false, ingress: false, configFrom: '', configOnly: false,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: gateway }] }, options: {}, labels: {}, userSubnets: true, predefined: false, driverState: {},
  } as NetworkRecord;
}

function addContainer(reg: RecordFeed, name: string, n: NetworkRecord, ip: string, aliases: string[] = []): ContainerRecord {
  const id = hex();
  const c = {
    id, name, created: '', imageId: '', config: { Hostname: id.slice(0, 12) } as ContainerRecord['config'], hostConfig: {}, networkMode: n.name,
    networks: [{ networkId: n.id, aliases, links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }],
    state: { status: 'running', pid: 1, exitCode: 0, startedAt: '', finishedAt: '', error: '' }, netnsPath: '', restartCount: 0,
  } as ContainerRecord;
  reg.containers.put(c);
  reg.endpoints.put({ id: hex(), networkId: n.id, containerId: id, ifname: 'eth0', hostIfname: '', ipv4: ip, ipv6: '', gateway4: '', gateway6: '', mac: '', aliases, requestedIpv4: '', requestedIpv6: '' });
  return c;
}

test('server: local names, forwarding, TCP, errors, floods, Node resolver', async () => {
  const up = port();
  const p = port();
  const stub = await startStub({ address: '127.0.0.1', port: up, records: { 'ext.test': { A: ['192.0.2.7'], AAAA: ['2001:db8::7'] } } });
  const reg = new RecordFeed();
  const n = net1('n1', '127.1.0.0/16', '127.1.0.1');
  const internal = net1('int', '127.3.0.0/16', '127.3.0.1', true);
  reg.networks.put(n);
  reg.networks.put(internal);
  addContainer(reg, 'web', n, '127.1.0.2/16', ['www']);
  addContainer(reg, 'client', n, '127.1.0.3/16');
  addContainer(reg, 'lonely', internal, '127.3.0.2/16');
  const dns = new DnsServer({ feed: reg, service: testDnsService, upstreams: () => [`127.0.0.1:${up}`], log: quiet, port: p, searchDomains: () => [] });
  try {
    await dns.listen(n.id, '127.1.0.1');
    await dns.listen(n.id, '127.1.0.1'); // idempotent
    await dns.listen(internal.id, '127.3.0.1');
    // A real stub resolver (c-ares), sending from the client container's address.
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.1.0.1:${p}`]);
    r.setLocalAddress('127.1.0.3');
    assert.deepEqual(await r.resolve4('web'), ['127.1.0.2']);
    assert.deepEqual(await r.resolve4('WWW'), ['127.1.0.2']);
    assert.deepEqual(await r.resolve4('ext.test'), ['192.0.2.7'], 'forwarded upstream');
    assert.deepEqual(await r.resolve6('ext.test'), ['2001:db8::7']);
    assert.deepEqual(await r.reverse('127.1.0.2'), ['web.n1']);
    await assert.rejects(r.resolve6('web'), (e: NodeJS.ErrnoException) => e.code === 'ENODATA', 'AAAA of a v4-only container: NOERROR, no data');
    await assert.rejects(r.resolve4('nope.test'), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
    // lonely (internal network only) gets its own names but nothing forwarded.
    const lonely = await udpAsk('127.3.0.1', p, q('lonely'), '127.3.0.2');
    assert.equal((lonely!.answers![0] as { data: string }).data, '127.3.0.2');
    assert.equal((await udpAsk('127.3.0.1', p, q('ext.test'), '127.3.0.2'))!.rcode, 'SERVFAIL');
    // web is not visible to lonely: forwarding refused for it → SERVFAIL (not an answer).
    assert.equal((await udpAsk('127.3.0.1', p, q('web'), '127.3.0.2'))!.answers!.length, 0);
    // TCP, local and forwarded.
    const t1 = await tcpAsk('127.1.0.1', p, q('web', 'A', 7), '127.1.0.3');
    assert.equal(t1.id, 7);
    assert.equal((t1.answers![0] as { data: string }).data, '127.1.0.2');
    const t2 = await tcpAsk('127.1.0.1', p, q('ext.test', 'A', 8), '127.1.0.3');
    assert.equal((t2.answers![0] as { data: string }).data, '192.0.2.7');
    assert.equal(stub.counts.tcp, 1);
    // Garbage: FORMERR or silence, never a crash.
    const bad = Buffer.alloc(30, 0xee);
    bad[2] = 0;
    assert.equal((await udpAsk('127.1.0.1', p, bad, '127.1.0.3'))!.rcode, 'FORMERR');
    assert.equal(await udpAsk('127.1.0.1', p, Buffer.from([1, 2, 3]), '127.1.0.3', 200), null);
    // A flood of distinct forwarded names and local names: all answered, daemon alive.
    const flood = await Promise.all(Array.from({ length: 300 }, (_, i) => udpAsk('127.1.0.1', p, q(i % 2 ? 'web' : `f${i}.test`, 'A', i), '127.1.0.3')));
    assert.equal(flood.filter((x) => x !== null).length, 300);
    const st = (await dns.stats());
    assert.ok(st.local > 150 && st.forwarded > 150, JSON.stringify(st));
    assert.deepEqual(Object.keys(st.listening).sort(), [n.id, internal.id].sort());
    await dns.close(n.id);
    assert.equal(await udpAsk('127.1.0.1', p, q('web'), '127.1.0.3', 200), null, 'closed');
  } finally {
    await dns.closeAll();
    await stub.close();
  }
});

test('server: a container’s own upstreams (upstreamsFor) are used for its forwarded queries', async () => {
  const p = port();
  const upA = port();
  const upB = port();
  const a = await startStub({ address: '127.0.0.1', port: upA, records: { 'ext.test': { A: ['192.0.2.1'] } } });
  const b = await startStub({ address: '127.0.0.1', port: upB, records: { 'ext.test': { A: ['192.0.2.2'] } } });
  const reg = new RecordFeed();
  const n = net1('n1', '127.6.0.0/16', '127.6.0.1');
  reg.networks.put(n);
  const special = addContainer(reg, 'special', n, '127.6.0.2/16');
  addContainer(reg, 'plain', n, '127.6.0.3/16');
  const dns = new DnsServer({
    feed: reg, service: testDnsService, upstreams: () => [`127.0.0.1:${upA}`], upstreamsFor: (id) => (id === special.id ? [`127.0.0.1:${upB}`] : undefined),
    log: quiet, port: p, searchDomains: () => [],
  });
  try {
    await dns.listen(n.id, '127.6.0.1');
    const viaB = await udpAsk('127.6.0.1', p, q('ext.test'), '127.6.0.2');
    const viaA = await udpAsk('127.6.0.1', p, q('ext.test'), '127.6.0.3');
    assert.equal((viaB!.answers![0] as { data: string }).data, '192.0.2.2');
    assert.equal((viaA!.answers![0] as { data: string }).data, '192.0.2.1');
  } finally {
    await dns.closeAll();
    await a.close();
    await b.close();
  }
});

test('server follow(): listens when a user-defined network appears, stops when it goes', async () => {
  const p = port();
  const reg = new RecordFeed();
  const dns = new DnsServer({ feed: reg, service: testDnsService, upstreams: () => [], log: quiet, port: p, searchDomains: () => [] });
  try {
    dns.follow();
    const n = net1('n1', '127.4.0.0/16', '127.4.0.1');
    reg.networks.put(n);
    reg.networks.put({ ...net1('bridge', '127.5.0.0/16', '127.5.0.1'), predefined: true });
    for (let i = 0; i < 50 && !(await dns.stats()).listening[n.id]; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(Object.values((await dns.stats()).listening), [['127.4.0.1']]);
    addContainer(reg, 'x', n, '127.4.0.2/16');
    const r = await udpAsk('127.4.0.1', p, q('x'), '127.4.0.2');
    assert.equal((r!.answers![0] as { data: string }).data, '127.4.0.2');
    reg.endpoints.delete(reg.endpointsOfContainer([...reg.containers.byId.values()].find((c) => c.name === 'x')!.id)[0].id);
    reg.networks.delete(n.id);
    for (let i = 0; i < 50 && (await dns.stats()).listening[n.id]; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual((await dns.stats()).listening, {});
  } finally {
    await dns.closeAll();
  }
});

test('server follow(): an unrealized network gets its listener only when it is realized', async () => {
  const p = port();
  const reg = new RecordFeed();
  const realized = new Set<string>();
  const dns = new DnsServer({ feed: reg, service: testDnsService, upstreams: () => [], log: quiet, port: p, searchDomains: () => [], isRealized: (n) => realized.has(n.id) });
  try {
    dns.follow();
    const n = net1('lazy', '127.7.0.0/16', '127.7.0.1');
    reg.networks.put(n);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await dns.stats()).listening, {}, 'no socket (and no bind retries) for a network without its bridge');
    realized.add(n.id);
    reg.realized(n);
    for (let i = 0; i < 50 && !(await dns.stats()).listening[n.id]; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(Object.values((await dns.stats()).listening), [['127.7.0.1']]);
  } finally {
    await dns.closeAll();
  }
});

test('server: weft-dns answers repeats from its cache, rotates shared names, forgets on registry changes', async () => {
  const p = port();
  const reg = new RecordFeed();
  const n = net1('cached', '127.8.0.0/16', '127.8.0.1');
  reg.networks.put(n);
  const a = addContainer(reg, 'a', n, '127.8.0.2/16');
  addContainer(reg, 'b', n, '127.8.0.3/16', ['web']);
  addContainer(reg, 'c', n, '127.8.0.4/16', ['web']);
  addContainer(reg, 'client', n, '127.8.0.9/16');
  const dns = new DnsServer({ feed: reg, service: testDnsService, upstreams: () => [], log: quiet, port: p, searchDomains: () => [] });
  const ask = async (name: string, id: number, from = '127.8.0.9') => {
    const r = await udpAsk('127.8.0.1', p, q(name, 'A', id), from);
    assert.ok(r, `an answer to ${name}`);
    assert.equal(r.id, id, 'the reply carries the query’s own ID (also from the cache)');
    return (r.answers ?? []).map((x) => (x as { data: string }).data);
  };
  try {
    await dns.listen(n.id, '127.8.0.1');
    for (let i = 0; i < 5; i++) assert.deepEqual(await ask('a', 100 + i), ['127.8.0.2']);
    let st = await dns.stats();
    assert.ok(st.cache.hits >= 4, `repeats are cache hits: ${JSON.stringify(st.cache)}`);
    assert.equal(st.queries, st.cache.hits + st.cache.misses);
    // Round robin survives the cache: consecutive answers for a shared alias change order.
    const firsts = [];
    for (let i = 0; i < 6; i++) {
      const ips = await ask('web', 200 + i);
      assert.deepEqual([...ips].sort(), ['127.8.0.3', '127.8.0.4']);
      firsts.push(ips[0]);
    }
    assert.deepEqual(new Set(firsts), new Set(['127.8.0.3', '127.8.0.4']));
    for (let i = 1; i < firsts.length; i++) assert.notEqual(firsts[i], firsts[i - 1], `rotates on every answer: ${firsts}`);
    // Visibility is per querier: a container on another network is not served from the cache.
    const other = net1('other', '127.9.0.0/16', '127.9.0.1');
    reg.networks.put(other);
    addContainer(reg, 'stranger', other, '127.9.0.2/16');
    assert.deepEqual(await ask('a', 300), ['127.8.0.2']);
    assert.deepEqual(await ask('a', 301, '127.9.0.2'), []);
    // A registry change flushes: a removed container stops resolving at once, a new one resolves.
    const ep = reg.endpointsOfContainer(a.id)[0];
    reg.endpoints.delete(ep.id);
    reg.containers.delete(a.id);
    assert.deepEqual(await ask('a', 400), []);
    addContainer(reg, 'a', n, '127.8.0.5/16');
    assert.deepEqual(await ask('a', 401), ['127.8.0.5']);
    st = await dns.stats();
    assert.equal(st.cache.dropped, 0);
  } finally {
    await dns.closeAll();
  }
});

test('server: a killed weft-dns is restarted and its listeners bound again', async () => {
  const p = port();
  const reg = new RecordFeed();
  const n = net1('respawn', '127.10.0.0/16', '127.10.0.1');
  reg.networks.put(n);
  addContainer(reg, 'a', n, '127.10.0.2/16');
  const dns = new DnsServer({ feed: reg, service: testDnsService, upstreams: () => [], log: quiet, port: p, searchDomains: () => [] });
  const helpers = () =>
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          const st = readFileSync(`/proc/${e}/stat`, 'utf8');
          return st.includes('(weft-dns)') && Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
        } catch {
          return false;
        }
      })
      .map(Number);
  try {
    await dns.listen(n.id, '127.10.0.1');
    assert.equal((await udpAsk('127.10.0.1', p, q('a'), '127.10.0.9'))!.answers!.length, 1);
    const [pid] = helpers();
    assert.ok(pid, 'weft-dns runs as this process’s child');
    process.kill(pid, 'SIGKILL');
    let answer: Decoded | null = null;
    for (let i = 0; i < 40 && !answer; i++) answer = await udpAsk('127.10.0.1', p, q('a', 'A', i), '127.10.0.9', 100);
    assert.equal((answer!.answers![0] as { data: string }).data, '127.10.0.2');
    assert.notDeepEqual(helpers(), [pid]);
  } finally {
    await dns.closeAll();
  }
  for (let i = 0; i < 50 && helpers().length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(helpers(), [], 'closeAll ends weft-dns');
});
