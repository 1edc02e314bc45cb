import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultIpam, LOCAL_DEFAULT, NetworkAddressing, NullIpam, defaultBridgeConfig, type IpamDriver, type PoolSpec } from '../../src/ipam/index.js';
import type { IpamPoolConfig } from '../../src/common/model.js';
import { WeftError } from '../../src/common/errors.js';

// Docker's default IPAM as a network sees it: NetworkAddressing (libnetwork network.go's
// ipamAllocate) over the default driver's LocalDefault space, keyed by network ID like the engine.

const err = (kind: WeftError['kind'], message: string | RegExp) => (e: unknown) => {
  assert.ok(e instanceof WeftError, `not a WeftError: ${String(e)}`);
  assert.equal(e.kind, kind, `kind of "${e.message}"`);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

class Ipam {
  readonly driver: DefaultIpam;
  readonly nets = new NetworkAddressing();
  constructor(opts: { pools?: readonly PoolSpec[] } | readonly PoolSpec[] = {}) {
    this.driver = new DefaultIpam({ localPools: Array.isArray(opts) ? opts : (opts as { pools?: readonly PoolSpec[] }).pools });
  }
  requestPools(netId: string, req: { config: IpamPoolConfig[]; enableIPv6: boolean; name?: string }, existing: { id: string; subnets: string[] }[] = [], routes: string[] = []) {
    const taken = existing.filter((n) => n.id !== netId && !this.nets.has(n.id)).flatMap((n) => n.subnets);
    return this.nets.requestPools({ netId, name: req.name ?? netId, driver: this.driver, addressSpace: LOCAL_DEFAULT, config: req.config, enableIPv6: req.enableIPv6, taken, routes });
  }
  restorePools(netId: string, req: { config: IpamPoolConfig[]; enableIPv6: boolean; userConfigured: { v4: boolean; v6: boolean } }) {
    return this.nets.restorePools({ netId, name: netId, driver: this.driver, addressSpace: LOCAL_DEFAULT, ...req });
  }
  releasePools(netId: string) {
    return this.nets.releasePools(netId);
  }
  requestAddress(netId: string, family: 4 | 6 | 'v4' | 'v6', preferred?: string) {
    return this.nets.requestAddress(netId, family, preferred);
  }
  /** True when the address was held. */
  async releaseAddress(netId: string, addr: string): Promise<boolean> {
    const held = this.isAllocated(netId, addr);
    await this.nets.releaseAddress(netId, addr);
    return held;
  }
  markAllocated(netId: string, addr: string) {
    return this.nets.markAllocated(netId, addr);
  }
  has(netId: string) {
    return this.nets.has(netId);
  }
  isAllocated(netId: string, addr: string): boolean {
    return this.nets.poolsOf(netId).some((p) => this.driver.space(LOCAL_DEFAULT).isAllocated(p.poolId, addr));
  }
  allocatedSubnets(): string[] {
    return this.driver.space(LOCAL_DEFAULT).subnets();
  }
}

const auto = async (ipam: Ipam, id: string, routes: string[] = []) => ((await ipam.requestPools(id, { config: [], enableIPv6: false }, [], routes)))[0].Subnet;

test('default pools are handed out in Docker order with .1 gateways', async () => {
  const ipam = new Ipam();
  assert.deepEqual(await ipam.requestPools('bridge', { config: [], enableIPv6: false }), [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]);
  assert.deepEqual(await ipam.requestPools('n1', { config: [], enableIPv6: false }), [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
  assert.equal(await auto(ipam, 'n2'), '172.19.0.0/16');
});

test('31 networks fit in the defaults, the 32nd fails with NotFound', async () => {
  const ipam = new Ipam();
  const got: string[] = [];
  for (let i = 0; i < 31; i++) got.push(await auto(ipam, `n${i}`));
  assert.equal(got[14], '172.31.0.0/16');
  assert.equal(got[15], '192.168.0.0/20');
  assert.equal(got[30], '192.168.240.0/20');
  await assert.rejects(
    () => auto(ipam, 'n31'),
    err('NotFound', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network'),
  );
});

test('the cursor rotates: a released subnet is not reused at once, then wraps around', async () => {
  const ipam = new Ipam();
  await auto(ipam, 'a'); // 172.17
  await auto(ipam, 'b'); // 172.18
  await ipam.releasePools('a');
  assert.equal(await auto(ipam, 'c'), '172.19.0.0/16');
  const fresh = new Ipam([{ base: '10.0.0.0/23', size: 24 }]);
  assert.equal(await auto(fresh, 'x'), '10.0.0.0/24');
  assert.equal(await auto(fresh, 'y'), '10.0.1.0/24');
  await fresh.releasePools('x');
  assert.equal(await auto(fresh, 'z'), '10.0.0.0/24');
});

test('default pools overlapping host routes are skipped (default route ignored)', async () => {
  const ipam = new Ipam();
  assert.equal(await auto(ipam, 'a', ['0.0.0.0/0', '172.17.0.0/16', '172.18.3.0/24']), '172.19.0.0/16');
  // the skipped pools were only held for the search: they are free for a user subnet
  assert.deepEqual(ipam.allocatedSubnets(), ['172.19.0.0/16']);
  await ipam.requestPools('u', { config: [{ Subnet: '172.17.0.0/16' }], enableIPv6: false }, [], ['172.17.0.0/16']);
  await assert.rejects(() => auto(ipam, 'b', ['172.16.0.0/12', '192.168.0.0/16']), err('NotFound', /IPv4 address pool/));
});

test("default pools overlapping existing networks' subnets are skipped", async () => {
  const ipam = new Ipam();
  assert.equal(
    (await ipam.requestPools('n', { config: [], enableIPv6: false }, [{ id: 'other', subnets: ['172.16.0.0/14', 'fd00::/64'] }]))[0].Subnet,
    '172.20.0.0/16',
  );
});

test('user subnet: normalized, gateway .1, overlap is Forbidden', async () => {
  const ipam = new Ipam();
  assert.deepEqual(await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.7/16' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/16', Gateway: '10.5.0.1' },
  ]);
  const overlap = err('Forbidden', 'Pool overlaps with other one on this address space');
  await assert.rejects(() => ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), overlap);
  await assert.rejects(() => ipam.requestPools('b', { config: [{ Subnet: '10.5.3.0/24' }], enableIPv6: false }), overlap);
  await assert.rejects(() => ipam.requestPools('b', { config: [{ Subnet: '10.0.0.0/8' }], enableIPv6: false }), overlap);
  await assert.rejects(
    () => ipam.requestPools('b', { config: [{ Subnet: '192.168.9.0/24' }], enableIPv6: false }, [{ id: 'x', subnets: ['192.168.0.0/16'] }]),
    overlap,
  );
  // user subnets are not checked against host routes
  assert.equal((await ipam.requestPools('c', { config: [{ Subnet: '10.6.0.0/16' }], enableIPv6: false }, [], ['10.6.0.0/16']))[0].Subnet, '10.6.0.0/16');
  // a failed request leaves nothing behind
  assert.ok(!ipam.has('b'));
  await ipam.releasePools('a');
  assert.equal((await ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }))[0].Subnet, '10.5.0.0/16');
});

test('the network itself may be listed among the existing networks', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }, [{ id: 'a', subnets: ['10.5.0.0/16'] }]);
});

test('invalid subnet and gateway texts', async () => {
  const ipam = new Ipam();
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/33' }], enableIPv6: false }),
    err('InvalidParameter', 'Invalid subnet 10.5.0.0/33 : invalid CIDR address: 10.5.0.0/33'),
  );
  // an empty subnet is the client's mistake too (20.10 and weft before issue 11: 500)
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '' }], enableIPv6: false }),
    err('InvalidParameter', 'Invalid subnet  : invalid CIDR address: '),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.300' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid gateway address 10.5.0.300 in Ipam configuration'),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.6.0.1' }], enableIPv6: false }),
    err('InvalidParameter', "invalid network config:\ninvalid gateway 10.6.0.1: parent subnet 10.5.0.0/16 doesn't contain this address"),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: 'fd00::1' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid gateway fd00::1: parent subnet is an IPv4 block'),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: 'fd00::/64', Gateway: '10.5.0.1' }], enableIPv6: true }),
    err('InvalidParameter', 'invalid network config:\ninvalid gateway 10.5.0.1: parent subnet is an IPv6 block'),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.0' }], enableIPv6: false }),
    err('Forbidden', 'failed to allocate gateway (10.5.0.0): Address already in use'),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('given gateway is reserved and echoed', async () => {
  const ipam = new Ipam();
  assert.deepEqual(await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.254' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/24', Gateway: '10.5.0.254' },
  ]);
  assert.ok(ipam.isAllocated('a', '10.5.0.254'));
  assert.equal(await ipam.requestAddress('a', 4), '10.5.0.1/24');
});

test('ip-range: gateway and addresses come from the range (first address included)', async () => {
  const ipam = new Ipam();
  assert.deepEqual(await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/30' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/16', Gateway: '10.5.1.0', IPRange: '10.5.1.0/30' },
  ]);
  assert.equal(await ipam.requestAddress('a', 4), '10.5.1.1/16');
  assert.equal(await ipam.requestAddress('a', 'v4'), '10.5.1.2/16');
  assert.equal(await ipam.requestAddress('a', 4), '10.5.1.3/16');
  await assert.rejects(() => ipam.requestAddress('a', 4), err('System', "no available IPv4 addresses on this network's address pools: a (a)"));
  // static addresses may lie outside the range, inside the subnet
  assert.equal(await ipam.requestAddress('a', 4, '10.5.200.9'), '10.5.200.9/16');
});

test('ip-range with explicit gateway', async () => {
  const ipam = new Ipam();
  const r = await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/24', Gateway: '10.5.0.1' }], enableIPv6: false });
  assert.equal(r[0].Gateway, '10.5.0.1');
  assert.equal(await ipam.requestAddress('a', 4), '10.5.1.0/16');
});

test('ip-range errors', async () => {
  const ipam = new Ipam();
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.6.0.0/24' }], enableIPv6: false }),
    err('InvalidParameter', "invalid network config:\ninvalid ip-range 10.6.0.0/24: parent subnet 10.5.0.0/16 doesn't contain ip-range"),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.0.0.0/8' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.5.0.0/16'),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '11.0.0.0/8' }], enableIPv6: false }),
    err(
      'InvalidParameter',
      'invalid network config:\n* invalid ip-range 11.0.0.0/8: CIDR block is bigger than its parent subnet 10.5.0.0/16\n' +
        "* invalid ip-range 11.0.0.0/8: parent subnet 10.5.0.0/16 doesn't contain ip-range",
    ),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: 'fd00::/64' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid ip-range fd00::/64: parent subnet is an IPv4 block'),
  );
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: 'bogus' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid ip-range bogus: invalid CIDR block notation'),
  );
});

test('two networks may share a subnet with different ip-ranges (libnetwork child pools)', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/24' }], enableIPv6: false });
  await ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.2.0/24' }], enableIPv6: false });
  await assert.rejects(
    () => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.2.0/24' }], enableIPv6: false }),
    err('Forbidden', 'Pool overlaps with other one on this address space'),
  );
  await assert.rejects(() => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), err('Forbidden', /Pool overlaps/));
  await ipam.releasePools('a');
  assert.deepEqual(ipam.allocatedSubnets(), ['10.5.0.0/16']);
  await ipam.releasePools('b');
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('aux addresses are reserved, validated with Docker texts', async () => {
  const ipam = new Ipam();
  const r = await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/29', AuxiliaryAddresses: { router: '10.5.0.2', dns: '10.5.0.3' } }], enableIPv6: false }, [], [], );
  assert.deepEqual(r[0].AuxiliaryAddresses, { router: '10.5.0.2', dns: '10.5.0.3' });
  assert.equal(await ipam.requestAddress('a', 4), '10.5.0.4/29');
  await assert.rejects(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: 'nope' } }], enableIPv6: false, name: 'bnet' }),
    err('InvalidParameter', 'non parsable secondary ip address (x:nope) passed for network bnet'),
  );
  await assert.rejects(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: '10.7.0.1' } }], enableIPv6: false }),
    err('Forbidden', 'auxilairy address: (x:10.7.0.1) must belong to the master pool: 10.6.0.0/24'),
  );
  await assert.rejects(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: '10.6.0.1' } }], enableIPv6: false }),
    err('Forbidden', 'failed to allocate secondary ip address (x:10.6.0.1): Address already in use'),
  );
  await ipam.releasePools('a');
  await ipam.requestPools('a2', { config: [{ Subnet: '10.5.0.0/29' }], enableIPv6: false });
  assert.equal(await ipam.requestAddress('a2', 4), '10.5.0.2/29');
});

test('addresses: lowest free first, never network/broadcast/gateway, release and reuse', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/29' }], enableIPv6: false });
  const got: string[] = [];
  for (let i = 0; i < 5; i++) got.push(await ipam.requestAddress('a', 4));
  assert.deepEqual(got, ['10.5.0.2/29', '10.5.0.3/29', '10.5.0.4/29', '10.5.0.5/29', '10.5.0.6/29']);
  await assert.rejects(() => ipam.requestAddress('a', 4), err('System', "no available IPv4 addresses on this network's address pools: a (a)"));
  assert.ok(await ipam.releaseAddress('a', '10.5.0.4/29'));
  assert.ok(!await ipam.releaseAddress('a', '10.5.0.4/29'));
  assert.ok(await ipam.releaseAddress('a', '10.5.0.3'));
  assert.equal(await ipam.requestAddress('a', 4), '10.5.0.3/29');
  assert.equal(await ipam.requestAddress('a', 4), '10.5.0.4/29');
});

test('the network name appears in the exhaustion error', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('0123abcd', { config: [{ Subnet: '10.5.0.0/30' }], enableIPv6: false, name: 'front' });
  await ipam.requestAddress('0123abcd', 4);
  await assert.rejects(() => ipam.requestAddress('0123abcd', 4), err('System', "no available IPv4 addresses on this network's address pools: front (0123abcd)"));
});

test('static addresses', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('auto', { config: [], enableIPv6: false });
  await assert.rejects(
    () => ipam.requestAddress('auto', 4, '172.17.0.9'),
    err('InvalidParameter', 'user specified IP address is supported only when connecting to networks with user configured subnets'),
  );
  assert.equal(ipam.nets.hasUserSubnet('auto', 4), false);
  await ipam.requestPools('u', { config: [{ Subnet: '10.5.0.0/24' }], enableIPv6: false });
  assert.equal(ipam.nets.hasUserSubnet('u', 4), true);
  assert.equal(ipam.nets.hasUserSubnet('u', 6), false);
  assert.equal(await ipam.requestAddress('u', 4, '10.5.0.9'), '10.5.0.9/24');
  await assert.rejects(() => ipam.requestAddress('u', 4, '10.5.0.9'), err('Forbidden', 'Address already in use'));
  await assert.rejects(() => ipam.requestAddress('u', 4, '10.5.0.1'), err('Forbidden', 'Address already in use'));
  await assert.rejects(
    () => ipam.requestAddress('u', 4, '10.9.0.9'),
    err('InvalidParameter', "Invalid address 10.9.0.9: It does not belong to any of this network's subnets"),
  );
  // dynamic allocation skips the static one
  const seen = new Set<string>();
  for (let i = 0; i < 252; i++) seen.add(await ipam.requestAddress('u', 4));
  assert.ok(!seen.has('10.5.0.9/24'));
  assert.equal(seen.size, 252);
  await assert.rejects(() => ipam.requestAddress('u', 4), err('System', /no available IPv4 addresses/));
  // a full pool answers "no available addresses" before "already in use", as bitseq does
  await ipam.releaseAddress('u', '10.5.0.9');
  await ipam.requestAddress('u', 4, '10.5.0.9');
  await assert.rejects(() => ipam.requestAddress('u', 4, '10.5.0.9'), err('Unavailable', 'No available addresses on this pool'));
});

test('allocation on a /16 is fast (no full scans)', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('big', { config: [{ Subnet: '10.0.0.0/16' }], enableIPv6: false });
  const t0 = performance.now();
  let last = '';
  for (let i = 0; i < 65533; i++) last = await ipam.requestAddress('big', 4);
  assert.equal(last, '10.0.255.254/16');
  for (let i = 0; i < 1000; i++) {
    await ipam.releaseAddress('big', `10.0.${(i * 37) % 250}.${(i % 200) + 2}`);
    await ipam.requestAddress('big', 4);
  }
  assert.ok(performance.now() - t0 < 5000);
});

test('multiple v4 subnets: the next pool is used when the first is full', async () => {
  const ipam = new Ipam();
  await ipam.requestPools('m', { config: [{ Subnet: '10.5.0.0/30' }, { Subnet: '10.6.0.0/30' }], enableIPv6: false });
  assert.equal(await ipam.requestAddress('m', 4), '10.5.0.2/30');
  assert.equal(await ipam.requestAddress('m', 4), '10.6.0.2/30');
  await assert.rejects(() => ipam.requestAddress('m', 4), err('System', /no available IPv4 addresses/));
  await ipam.releaseAddress('m', '10.6.0.2/30');
  assert.equal(await ipam.requestAddress('m', 4, '10.6.0.2'), '10.6.0.2/30');
});

test('overlapping subnets within one request are refused and rolled back', async () => {
  const ipam = new Ipam();
  await assert.rejects(
    () => ipam.requestPools('m', { config: [{ Subnet: '10.5.0.0/16' }, { Subnet: '10.5.1.0/24' }], enableIPv6: false }),
    err('Forbidden', /Pool overlaps/),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('IPv6: subnet required with enableIPv6 (20.10), ::1 gateway, no broadcast reservation', async () => {
  const ipam = new Ipam();
  await assert.rejects(
    () => ipam.requestPools('a', { config: [], enableIPv6: true }),
    err('NotFound', 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network'),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []); // the v4 pool was rolled back
  const r = await ipam.requestPools('b', { config: [{ Subnet: 'fd00:1::/64' }, { Subnet: '10.9.0.0/24' }], enableIPv6: true });
  assert.deepEqual(r, [
    { Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' },
    { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
  ]);
  assert.equal(await ipam.requestAddress('b', 6), 'fd00:1::2/64');
  assert.equal(await ipam.requestAddress('b', 'v6', 'fd00:1::ffff:ffff:ffff:fffe'), 'fd00:1::ffff:ffff:ffff:fffe/64');
  // libnetwork's bitmask for a /64 has 2^64-1 bits: the very last address is out of range
  await assert.rejects(() => ipam.requestAddress('b', 6, 'fd00:1::ffff:ffff:ffff:ffff'), err('InvalidParameter', 'Requested address is out of range'));
  const small = new Ipam();
  await small.requestPools('s', { config: [{ Subnet: 'fd00::/126' }], enableIPv6: true });
  assert.deepEqual([await small.requestAddress('s', 6), await small.requestAddress('s', 6)], ['fd00::2/126', 'fd00::3/126']);
  await assert.rejects(() => small.requestAddress('s', 6), err('System', /no available IPv6 addresses/));
});

test('IPv6 subnets of a network without IPv6 are echoed but not allocated', async () => {
  const ipam = new Ipam();
  const r = await ipam.requestPools('a', { config: [{ Subnet: 'fd00::/64', Gateway: 'fd00::1' }], enableIPv6: false });
  assert.deepEqual(r, [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }, { Subnet: 'fd00::/64', Gateway: 'fd00::1' }]);
  assert.equal(await ipam.requestAddress('a', 6), '');
  assert.deepEqual(ipam.allocatedSubnets(), ['172.17.0.0/16']);
});

test('IPv6 default pools when configured', async () => {
  const ipam = new Ipam({ pools: [{ base: '172.30.0.0/16', size: 24 }, { base: 'fd42::/48', size: 64 }] });
  const r = await ipam.requestPools('a', { config: [], enableIPv6: true });
  assert.deepEqual(r, [
    { Subnet: '172.30.0.0/24', Gateway: '172.30.0.1' },
    { Subnet: 'fd42::/64', Gateway: 'fd42::1' },
  ]);
});

test('restore and markAllocated rebuild state', async () => {
  const ipam = new Ipam();
  await ipam.restorePools('a', {
    config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1', AuxiliaryAddresses: { r: '10.5.0.2' } }],
    enableIPv6: false,
    userConfigured: { v4: false, v6: false },
  });
  await ipam.markAllocated('a', '10.5.0.3/24');
  await ipam.markAllocated('a', '10.5.0.3/24'); // idempotent
  assert.equal(await ipam.requestAddress('a', 4), '10.5.0.4/24');
  await assert.rejects(() => ipam.requestAddress('a', 4, '10.5.0.9'), err('InvalidParameter', /user configured subnets/));
  await assert.rejects(() => ipam.markAllocated('a', '10.6.0.3'), err('InvalidParameter', /does not belong/));
  // a user-configured subnet allows static IPs
  await ipam.restorePools('b', { config: [{ Subnet: '10.6.0.0/24', Gateway: '10.6.0.1' }], enableIPv6: false, userConfigured: { v4: true, v6: false } });
  assert.equal(await ipam.requestAddress('b', 4, '10.6.0.9'), '10.6.0.9/24');
  // restored pools count for overlap and for the default-pool search
  await assert.rejects(() => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), err('Forbidden', /Pool overlaps/));
  await ipam.releasePools('a');
  await ipam.releasePools('a'); // unknown ids are ignored
  await ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false });
});

test('unknown network', async () => {
  const ipam = new Ipam();
  await assert.rejects(() => ipam.requestAddress('nope', 4), err('System', /no IPAM state/));
  assert.equal(await ipam.releaseAddress('nope', '10.0.0.1'), false);
  await ipam.requestPools('a', { config: [], enableIPv6: false });
  await assert.rejects(() => ipam.requestPools('a', { config: [], enableIPv6: false }), WeftError);
});

test('/31 and /32 have no usable addresses, as in 20.10, but that is the client\'s 400', async () => {
  const ipam = new Ipam();
  await assert.rejects(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/31' }], enableIPv6: false }),
    err('InvalidParameter', 'failed to allocate gateway (): No available addresses on this pool'),
  );
});

test('defaultBridgeConfig mirrors dockerd', async () => {
  assert.deepEqual(defaultBridgeConfig({}), { Subnet: '172.17.0.0/16' });
  assert.deepEqual(defaultBridgeConfig({ hostRoutes: ['172.17.0.0/16'] }), { Subnet: '172.18.0.0/16' });
  assert.deepEqual(defaultBridgeConfig({ bip: '172.20.0.1/16' }), { Subnet: '172.20.0.0/16', Gateway: '172.20.0.1' });
  assert.deepEqual(defaultBridgeConfig({ bip: '10.1.2.3/24', fixedCidr: '10.1.2.130/25' }), {
    Subnet: '10.1.2.0/24',
    Gateway: '10.1.2.3',
    IPRange: '10.1.2.128/25',
  });
  assert.deepEqual(defaultBridgeConfig({ bip: '172.20.0.0/16' }), { Subnet: '172.20.0.0/16' });
  assert.deepEqual(defaultBridgeConfig({ pools: [{ base: '10.99.0.0/16', size: 24 }] }), { Subnet: '10.99.0.0/24' });
});

test('GlobalDefault: swarm pools in /24s, serial addresses', async () => {
  const driver = new DefaultIpam();
  const nets = new NetworkAddressing();
  const req = (netId: string) => ({ netId, name: netId, driver, addressSpace: 'GlobalDefault', config: [], enableIPv6: false });
  assert.deepEqual(await nets.requestPools(req('o1')), [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
  assert.deepEqual(await nets.requestPools(req('o2')), [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
  assert.equal(await nets.requestAddress('o1', 4), '10.0.0.2/24');
  await nets.releaseAddress('o1', '10.0.0.2/24');
  assert.equal(await nets.requestAddress('o1', 4), '10.0.0.3/24', 'serial: a released address is not handed out again at once');
  assert.deepEqual(await driver.getDefaultAddressSpaces(), { local: 'LocalDefault', global: 'GlobalDefault' });
  await assert.rejects(() => driver.requestPool({ addressSpace: 'Elsewhere', v6: false }), err('InvalidParameter', /cannot find address space Elsewhere/));
});

test('null IPAM: one catch-all pool, no addresses, no specific pools', async () => {
  const nets = new NetworkAddressing();
  const driver = new NullIpam();
  const config = await nets.requestPools({ netId: 'n', name: 'n', driver, addressSpace: 'null', config: [], enableIPv6: false });
  assert.deepEqual(config, [{ Subnet: '0.0.0.0/0' }]);
  assert.equal(await nets.requestAddress('n', 4), '');
  await assert.rejects(
    () => nets.requestPools({ netId: 'm', name: 'm', driver, addressSpace: 'null', config: [{ Subnet: '10.9.0.0/24' }], enableIPv6: false }),
    err('InvalidParameter', 'null ipam driver does not handle specific address pool requests'),
  );
});

test('a driver that keeps answering one overlapping pool: the search ends, nothing is held', async () => {
  const released: string[] = [];
  const stubborn: IpamDriver = {
    name: 'stubborn',
    capabilities: { requiresMacAddress: false, requiresRequestReplay: false },
    getDefaultAddressSpaces: async () => ({ local: 'L', global: 'G' }),
    requestPool: async () => ({ poolId: 'p1', pool: '10.1.0.0/16', meta: {} }),
    releasePool: async (id) => void released.push(id),
    requestAddress: async () => ({ address: '10.1.0.1/16', meta: {} }),
    releaseAddress: async () => undefined,
  };
  const nets = new NetworkAddressing();
  await assert.rejects(
    () => nets.requestPools({ netId: 'n', name: 'n', driver: stubborn, addressSpace: 'L', config: [], enableIPv6: false, routes: ['10.1.0.0/16'] }),
    err('NotFound', /IPv4 address pool/),
  );
  assert.deepEqual(released, ['p1', 'p1'], 'the held pool and the repeated answer are both given back');
  assert.equal(nets.has('n'), false);
});
