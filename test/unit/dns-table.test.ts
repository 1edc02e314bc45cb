import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { followingTable, RecordFeed, testDnsService } from '../helpers/record-feed.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { TYPE_A, TYPE_AAAA, TYPE_PTR, CONTAINER_TTL, type LookupResult } from '../../src/dns/table.js';
import { canonicalIp, ipv6Bytes, ipv6Text, ptrToIp } from '../../src/dns/ip.js';
import { resolvConfFor, dnsAddresses, hostUpstreams } from '../../src/dns/server.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networkRecord } from '../helpers/records.js';

const hex = () => randomBytes(32).toString('hex');

function netRecord(name: string, subnet: string, gateway: string, over: Partial<NetworkRecord> = {}): NetworkRecord {
  const base = networkRecord({
    id: hex(),
    name,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: subnet, Gateway: gateway }] },
  });
  return { ...base, ...over } as NetworkRecord;
}

function containerRecord(name: string, nets: { net: NetworkRecord; aliases?: string[] }[], hostname = ''): ContainerRecord {
  const id = hex();
  return {
    id,
    name,
    created: '2024-01-01T00:00:00.000000000Z',
    imageId: 'sha256:' + hex(),
    config: { Hostname: hostname || id.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, ExposedPorts: null, Tty: false, OpenStdin: false, StdinOnce: false, Env: [], Cmd: null, Image: 'alpine', Volumes: null, WorkingDir: '', Entrypoint: null, Labels: {} },
    hostConfig: {},
    networkMode: nets[0]?.net.name ?? 'none',
    networks: nets.map(({ net, aliases }) => ({ networkId: net.id, aliases: aliases ?? [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} })),
    state: { status: 'running', pid: 1, exitCode: 0, startedAt: '2024-01-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z', error: '' },
    netnsPath: '/run/netns/x',
    restartCount: 0,
  } as ContainerRecord;
}

function endpoint(c: ContainerRecord, net: NetworkRecord, ipv4: string, ipv6 = ''): EndpointRecord {
  const att = c.networks.find((a) => a.networkId === net.id)!;
  return { id: hex(), networkId: net.id, containerId: c.id, ifname: 'eth0', hostIfname: 'vethx', ipv4, ipv6, gateway4: '', gateway6: '', mac: '', aliases: att.aliases, requestedIpv4: '', requestedIpv6: '' };
}

class World {
  reg = new RecordFeed();
  table = followingTable(this.reg).table;
  net(name: string, subnet: string, gw: string, over: Partial<NetworkRecord> = {}) {
    const n = netRecord(name, subnet, gw, over);
    this.reg.networks.put(n);
    return n;
  }
  /** create + start: the container record, then one endpoint per network (as SandboxService does). */
  run(name: string, nets: { net: NetworkRecord; ip: string; ip6?: string; aliases?: string[] }[], hostname = '') {
    const c = containerRecord(name, nets, hostname);
    this.reg.containers.put(c);
    const eps = nets.map((n) => {
      const ep = endpoint(c, n.net, n.ip, n.ip6);
      this.reg.endpoints.put(ep);
      return ep;
    });
    return { c, eps };
  }
  /** docker network connect, running container. */
  connect(c: ContainerRecord, net: NetworkRecord, ip: string, aliases: string[] = []) {
    c.networks.push({ networkId: net.id, aliases, links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} });
    this.reg.containers.put(c);
    const ep = endpoint(c, net, ip);
    this.reg.endpoints.put(ep);
    return ep;
  }
  /** docker network disconnect: the container is updated first, the endpoint goes later. */
  disconnectRecordOnly(c: ContainerRecord, net: NetworkRecord) {
    c.networks = c.networks.filter((a) => a.networkId !== net.id);
    this.reg.containers.put(c);
  }
  stop(c: ContainerRecord) {
    for (const ep of this.reg.endpointsOfContainer(c.id)) this.reg.endpoints.delete(ep.id);
  }
  a(from: string, name: string, netId?: string): string[] | null {
    const r = this.table.lookup(from, name, TYPE_A, netId);
    return r ? r.answers.map((x) => x.data) : null;
  }
}

const datas = (r: LookupResult | null) => (r ? r.answers.map((a) => a.data) : null);

test('containers resolve each other by name on a shared network; others are not answered here', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  w.run('alpine1', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('alpine2', [{ net: n1, ip: '10.1.0.3/24' }]);
  w.run('alpine3', [{ net: n2, ip: '10.2.0.2/24' }]);
  assert.deepEqual(w.a('10.1.0.2', 'alpine2'), ['10.1.0.3']);
  assert.deepEqual(w.a('10.1.0.3', 'alpine1'), ['10.1.0.2']);
  assert.equal(w.a('10.1.0.2', 'alpine3'), null, 'alpine3 is on another network');
  assert.equal(w.a('10.2.0.2', 'alpine1'), null);
  assert.deepEqual(w.a('10.2.0.2', 'alpine3'), ['10.2.0.2'], 'itself');
  assert.equal(w.a('10.1.0.2', 'google.com'), null);
});

test('case-insensitive, trailing dot, <name>.<network>, TTL', () => {
  const w = new World();
  const n1 = w.net('MyNet', '10.1.0.0/24', '10.1.0.1');
  w.run('Web_1', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('client', [{ net: n1, ip: '10.1.0.3/24' }]);
  assert.deepEqual(w.a('10.1.0.3', 'WEB_1.'), ['10.1.0.2']);
  assert.deepEqual(w.a('10.1.0.3', 'web_1'), ['10.1.0.2']);
  assert.deepEqual(w.a('10.1.0.3', 'web_1.mynet'), ['10.1.0.2']);
  assert.equal(w.a('10.1.0.3', 'web_1.othernet'), null);
  assert.equal(w.table.lookup('10.1.0.3', 'web_1', TYPE_A)!.answers[0].ttl, CONTAINER_TTL);
});

test('a container on two networks resolves names of both, and is found on both', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  w.run('a', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('b', [{ net: n2, ip: '10.2.0.2/24' }]);
  w.run('both', [
    { net: n1, ip: '10.1.0.9/24' },
    { net: n2, ip: '10.2.0.9/24' },
  ]);
  // The querier may use either of its addresses (either gateway socket).
  for (const from of ['10.1.0.9', '10.2.0.9']) {
    assert.deepEqual(w.a(from, 'a'), ['10.1.0.2']);
    assert.deepEqual(w.a(from, 'b'), ['10.2.0.2']);
  }
  // Peers see it at its address on the network they share.
  assert.deepEqual(w.a('10.1.0.2', 'both'), ['10.1.0.9']);
  assert.deepEqual(w.a('10.2.0.2', 'both'), ['10.2.0.9']);
  // a and b still cannot see each other.
  assert.equal(w.a('10.1.0.2', 'b'), null);
});

test('a name shared by a querier on both networks: the first network in its order wins (Docker)', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  w.run('srv', [
    { net: n2, ip: '10.2.0.5/24' },
    { net: n1, ip: '10.1.0.5/24' },
  ]);
  w.run('q', [
    { net: n1, ip: '10.1.0.7/24' },
    { net: n2, ip: '10.2.0.7/24' },
  ]);
  assert.deepEqual(w.a('10.1.0.7', 'srv'), ['10.1.0.5']);
});

test('disconnect removes the name at once (before the endpoint is released)', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  const { c: x } = w.run('x', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('y', [{ net: n1, ip: '10.1.0.3/24' }]);
  w.run('z', [{ net: n2, ip: '10.2.0.3/24' }]);
  const ep2 = w.connect(x, n2, '10.2.0.2/24');
  assert.deepEqual(w.a('10.2.0.3', 'x'), ['10.2.0.2']);
  assert.deepEqual(w.a('10.1.0.2', 'z'), ['10.2.0.3'], 'x sees n2 after connect');
  w.disconnectRecordOnly(x, n2);
  assert.equal(w.a('10.2.0.3', 'x'), null, 'gone from n2 right after the container record changed');
  assert.equal(w.a('10.1.0.2', 'z'), null, 'and x no longer sees n2');
  assert.deepEqual(w.a('10.1.0.3', 'x'), ['10.1.0.2'], 'still on n1');
  w.reg.endpoints.delete(ep2.id); // the endpoint release that follows
  assert.deepEqual(w.a('10.1.0.3', 'x'), ['10.1.0.2']);
});

test('stop and remove drop the names; restart with a new address serves the new one', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const { c } = w.run('db', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('app', [{ net: n1, ip: '10.1.0.3/24' }]);
  w.stop(c);
  assert.equal(w.a('10.1.0.3', 'db'), null);
  w.reg.endpoints.put(endpoint(c, n1, '10.1.0.4/24'));
  assert.deepEqual(w.a('10.1.0.3', 'db'), ['10.1.0.4']);
  w.stop(c);
  w.reg.containers.delete(c.id);
  assert.equal(w.a('10.1.0.3', 'db'), null);
  assert.equal(w.table.sizes()[n1.id], 2, 'app only: its name and short id (= its hostname)');
});

test('aliases: shared alias returns every address, rotated round robin', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  w.run('w1', [{ net: n1, ip: '10.1.0.11/24', aliases: ['web'] }]);
  w.run('w2', [{ net: n1, ip: '10.1.0.12/24', aliases: ['web', 'Extra'] }]);
  w.run('w3', [{ net: n1, ip: '10.1.0.13/24', aliases: ['web'] }]);
  w.run('client', [{ net: n1, ip: '10.1.0.2/24' }]);
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = w.a('10.1.0.2', 'web')!;
    assert.deepEqual([...r].sort(), ['10.1.0.11', '10.1.0.12', '10.1.0.13']);
    seen.add(r[0]);
  }
  assert.equal(seen.size, 3, 'each address comes first once in three queries');
  assert.deepEqual(w.a('10.1.0.2', 'extra'), ['10.1.0.12']);
});

test('short id, hostname; renamed container and changed aliases are reindexed', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const { c } = w.run('old', [{ net: n1, ip: '10.1.0.5/24' }], 'myhost');
  w.run('client', [{ net: n1, ip: '10.1.0.2/24' }]);
  assert.deepEqual(w.a('10.1.0.2', c.id.slice(0, 12)), ['10.1.0.5']);
  assert.deepEqual(w.a('10.1.0.2', 'MYHOST'), ['10.1.0.5']);
  assert.equal(w.a('10.1.0.2', c.id.slice(0, 11)), null);
  c.name = 'new';
  c.networks[0].aliases = ['al'];
  w.reg.containers.put(c);
  assert.equal(w.a('10.1.0.2', 'old'), null);
  assert.deepEqual(w.a('10.1.0.2', 'new'), ['10.1.0.5']);
  assert.deepEqual(w.a('10.1.0.2', 'al'), ['10.1.0.5']);
});

test('AAAA: addresses when the container has IPv6, empty NOERROR (not NXDOMAIN) otherwise', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1', { enableIPv6: true });
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  w.run('six', [{ net: n1, ip: '10.1.0.5/24', ip6: 'fd00:0:0:0::5/64' }]);
  w.run('four', [
    { net: n1, ip: '10.1.0.6/24' },
    { net: n2, ip: '10.2.0.6/24' },
  ]);
  w.run('client', [{ net: n1, ip: '10.1.0.2/24', ip6: 'fd00::2/64' }]);
  assert.deepEqual(datas(w.table.lookup('10.1.0.2', 'six', TYPE_AAAA)), ['fd00::5']);
  const r = w.table.lookup('10.1.0.2', 'four', TYPE_AAAA)!;
  assert.equal(r.rcode, 0);
  assert.deepEqual(r.answers, []);
  // Over IPv6 too: the querier is found by its IPv6 source address.
  assert.deepEqual(datas(w.table.lookup('fd00::2', 'six', TYPE_A)), ['10.1.0.5']);
  assert.deepEqual(datas(w.table.lookup('fd00:0::0:2', 'six', TYPE_A)), null, 'source addresses arrive canonical; other spellings are unknown');
  // MX of a container name: the name exists, so empty NOERROR.
  assert.deepEqual(w.table.lookup('10.1.0.2', 'six', 15)!.answers, []);
});

test('PTR for container addresses, only on shared networks', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1', { enableIPv6: true });
  const n2 = w.net('n2', '10.2.0.0/24', '10.2.0.1');
  w.run('web', [{ net: n1, ip: '10.1.0.5/24', ip6: 'fd00::5/64' }]);
  w.run('client', [{ net: n1, ip: '10.1.0.2/24' }]);
  w.run('other', [{ net: n2, ip: '10.2.0.2/24' }]);
  assert.deepEqual(datas(w.table.lookup('10.1.0.2', '5.0.1.10.in-addr.arpa', TYPE_PTR)), ['web.n1']);
  assert.deepEqual(datas(w.table.lookup('10.1.0.2', '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.', TYPE_PTR)), ['web.n1']);
  assert.equal(w.table.lookup('10.2.0.2', '5.0.1.10.in-addr.arpa', TYPE_PTR), null);
  assert.equal(w.table.lookup('10.1.0.2', '8.8.8.8.in-addr.arpa', TYPE_PTR), null);
});

test('search domain suffix is stripped', () => {
  const reg = new RecordFeed();
  const { table, stop } = followingTable(reg, { searchDomains: () => ['corp.example.com'] });
  const n1 = netRecord('n1', '10.1.0.0/24', '10.1.0.1');
  reg.networks.put(n1);
  const c = containerRecord('db', [{ net: n1 }]);
  reg.containers.put(c);
  reg.endpoints.put(endpoint(c, n1, '10.1.0.5/24'));
  assert.deepEqual(datas(table.lookup('10.1.0.5', 'db.corp.example.com', TYPE_A)), ['10.1.0.5']);
  assert.deepEqual(datas(table.lookup('10.1.0.5', 'db.corp.example.com.', TYPE_A)), ['10.1.0.5']);
  assert.equal(table.lookup('10.1.0.5', 'db.example.com', TYPE_A), null);
  stop();
  reg.endpoints.delete(reg.endpointsOfContainer(c.id)[0].id);
  assert.ok(table.lookup('10.1.0.5', 'db', TYPE_A), 'a stopped table no longer follows the records');
});

test('the predefined bridge has no names; unknown source falls back to the receiving network', () => {
  const w = new World();
  const bridge = w.net('bridge', '172.17.0.0/16', '172.17.0.1', { predefined: true });
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  w.run('b1', [{ net: bridge, ip: '172.17.0.2/16' }]);
  w.run('b2', [{ net: bridge, ip: '172.17.0.3/16' }]);
  w.run('u1', [{ net: n1, ip: '10.1.0.2/24' }]);
  assert.equal(w.a('172.17.0.2', 'b2'), null);
  assert.equal(w.a('172.17.0.2', 'b2', bridge.id), null);
  assert.equal(w.a('10.9.9.9', 'u1'), null, 'unknown source, no network');
  assert.deepEqual(w.a('10.1.0.1', 'u1', n1.id), ['10.1.0.2'], 'the host asking on n1’s gateway');
  assert.equal(w.a('10.1.0.1', 'b1', bridge.id), null);
});

test('network delete and records present before the table was made', () => {
  const reg = new RecordFeed();
  const n1 = netRecord('n1', '10.1.0.0/24', '10.1.0.1', { internal: true });
  reg.networks.put(n1);
  const c = containerRecord('early', [{ net: n1 }]);
  reg.containers.put(c);
  reg.endpoints.put(endpoint(c, n1, '10.1.0.5/24'));
  const { table } = followingTable(reg);
  assert.deepEqual(datas(table.lookup('10.1.0.5', 'early', TYPE_A)), ['10.1.0.5']);
  assert.equal(table.internalOnly('10.1.0.5'), true);
  reg.endpoints.delete(reg.endpointsOfContainer(c.id)[0].id);
  reg.networks.delete(n1.id);
  assert.equal(table.lookup('10.1.0.5', 'early', TYPE_A), null);
  assert.deepEqual(table.sizes(), {});
});

test('updates are O(changes): 2000 containers index fast and one change is cheap', () => {
  const w = new World();
  const n1 = w.net('big', '10.0.0.0/16', '10.0.0.1');
  const t0 = performance.now();
  const all = [];
  for (let i = 0; i < 2000; i++) all.push(w.run(`c${i}`, [{ net: n1, ip: `10.0.${i >> 8}.${(i & 255) + 2}/16` }]));
  const t1 = performance.now();
  assert.deepEqual(w.a('10.0.0.2', 'c1999'), [`10.0.7.${(1999 & 255) + 2}`]);
  // One rename: should not touch the other 1999 containers.
  const c = all[5].c;
  c.name = 'renamed';
  const t2 = performance.now();
  w.reg.containers.put(c);
  const t3 = performance.now();
  assert.deepEqual(w.a('10.0.0.2', 'renamed'), ['10.0.0.7']);
  assert.ok(t3 - t2 < 5 + (t1 - t0) / 200, `rename took ${t3 - t2} ms (indexing 2000 took ${t1 - t0} ms)`);
});

test('ip helpers', () => {
  assert.equal(canonicalIp('fd00:0:0:0::5/64'), 'fd00::5');
  assert.equal(canonicalIp('FD00::0:5'), 'fd00::5');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('::ffff:10.1.2.3'), '::ffff:10.1.2.3');
  assert.equal(canonicalIp('10.1.2.3/8'), '10.1.2.3');
  assert.equal(canonicalIp('nonsense'), '');
  assert.equal(ipv6Text(ipv6Bytes('1:2:3:4:5:6:7:8')!), '1:2:3:4:5:6:7:8');
  assert.equal(ipv6Text(ipv6Bytes('::')!), '::');
  assert.equal(ptrToIp('4.3.2.1.in-addr.arpa'), '1.2.3.4');
  assert.equal(ptrToIp('4.3.2.in-addr.arpa'), null);
  assert.equal(ptrToIp('400.3.2.1.in-addr.arpa'), null);
  assert.equal(ptrToIp('x.ip6.arpa'), null);
});

test('resolvConfFor and dnsAddresses', () => {
  const reg = new RecordFeed();
  const bridge = netRecord('bridge', '172.17.0.0/16', '172.17.0.1', { predefined: true });
  const host = netRecord('host', '', '', { predefined: true, driver: 'host', ipam: { driver: 'default', options: null, config: [] } });
  const n1 = netRecord('n1', '10.1.0.0/24', '10.1.0.1');
  const n2 = netRecord('n2', '10.2.0.0/24', '10.2.0.1', {
    enableIPv6: true,
    ipam: { driver: 'default', options: null, config: [{ Subnet: '10.2.0.0/24', Gateway: '10.2.0.1' }, { Subnet: 'fd02::/64', Gateway: 'fd02::1' }] },
  });
  const v6only = netRecord('v6', 'fd03::/64', 'fd03::1', { enableIPv6: true });
  for (const n of [bridge, host, n1, n2, v6only]) reg.networks.put(n);
  const hostConf = { nameservers: ['192.0.2.53'], search: ['example.com'], options: ['edns0'] };
  assert.equal(resolvConfFor(containerRecord('a', [{ net: bridge }]), (id) => reg.networks.byId.get(id), testDnsService, hostConf), null);
  const h = containerRecord('h', [{ net: host }]);
  h.networkMode = 'host';
  assert.equal(resolvConfFor(h, (id) => reg.networks.byId.get(id), testDnsService, hostConf), null);
  assert.deepEqual(resolvConfFor(containerRecord('b', [{ net: n2 }, { net: bridge }, { net: n1 }]), (id) => reg.networks.byId.get(id), testDnsService, hostConf), {
    nameservers: ['10.2.0.1', '10.1.0.1', 'fd02::1'],
    search: ['example.com'],
    options: ['ndots:0'],
  });
  assert.deepEqual(resolvConfFor(containerRecord('c', [{ net: v6only }]), (id) => reg.networks.byId.get(id), testDnsService, hostConf)?.nameservers, ['fd03::1']);
  assert.deepEqual(dnsAddresses(n2), ['10.2.0.1', 'fd02::1']);
  assert.deepEqual(dnsAddresses({ ...n2, enableIPv6: false }), ['10.2.0.1']);
});

test('hostUpstreams keeps loopback resolvers (the daemon forwards from the host namespace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-dns-unit-'));
  try {
    const f = join(dir, 'resolv.conf');
    writeFileSync(f, 'nameserver 127.0.0.53\nnameserver fe80::1%eth0\noptions edns0\nsearch a.example\n');
    assert.deepEqual(hostUpstreams(f), ['127.0.0.53', 'fe80::1%eth0']);
    writeFileSync(f, 'search a.example\n');
    assert.deepEqual(hostUpstreams(f), ['8.8.8.8', '8.8.4.4'], "Docker's fallback");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at scale: 1,000 containers on 100 networks, each name resolvable from exactly its network-mates', () => {
  const w = new World();
  const nets = Array.from({ length: 100 }, (_, i) => w.net(`scale-${i}`, `10.${100 + Math.floor(i / 50)}.${i % 50}.0/24`, `10.${100 + Math.floor(i / 50)}.${i % 50}.1`));
  const ctrs: { name: string; ip: string; net: number }[] = [];
  for (let i = 0; i < 1000; i++) {
    const n = i % 100;
    const ip = nets[n].ipam.config[0].Subnet.replace(/0\/24$/, String(2 + Math.floor(i / 100)));
    w.run(`ctr-${i}`, [{ net: nets[n], ip }]);
    ctrs.push({ name: `ctr-${i}`, ip, net: n });
  }
  // Every querier of 10 sample networks against every name: hits on its own network only.
  for (const q of ctrs.filter((c) => c.net % 10 === 0)) {
    for (const target of ctrs) {
      const r = w.table.lookup(q.ip, target.name, TYPE_A);
      if (target.net === q.net) assert.deepEqual(r?.answers.map((a) => a.data), [target.ip], `${q.name} → ${target.name}`);
      else assert.equal(r, null, `${q.name} must not resolve ${target.name}`);
    }
  }
});

test('an endpoint link is an alias only its container resolves, to a target that may come later; legacy links are not DNS', () => {
  const w = new World();
  const n1 = w.net('n1', '10.1.0.0/24', '10.1.0.1');
  const { c: early } = w.run('early', [{ net: n1, ip: '10.1.0.2/24' }]);
  early.networks[0].links = ['later:bar'];
  early.hostConfig.Links = ['/web:/early/legacy'];
  w.reg.containers.put(early);
  w.run('watcher', [{ net: n1, ip: '10.1.0.4/24' }]);
  assert.equal(w.a('10.1.0.2', 'bar'), null, 'no target yet');
  w.run('later', [{ net: n1, ip: '10.1.0.3/24' }]);
  w.run('web', [{ net: n1, ip: '10.1.0.5/24' }]);
  assert.deepEqual(w.a('10.1.0.2', 'bar'), ['10.1.0.3'], 'the target runs: the alias resolves');
  assert.equal(w.a('10.1.0.4', 'bar'), null, 'another container does not see the alias');
  assert.equal(w.a('10.1.0.2', 'legacy'), null, 'a legacy (default bridge) link is no DNS alias');
});
