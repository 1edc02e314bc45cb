import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam, defaultBridgeConfig } from '../../src/ipam/allocator.js';
import { WeftError } from '../../src/common/errors.js';

const err = (kind: WeftError['kind'], message: string | RegExp) => (e: unknown) => {
  assert.ok(e instanceof WeftError, `not a WeftError: ${String(e)}`);
  assert.equal(e.kind, kind, `kind of "${e.message}"`);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

const auto = (ipam: Ipam, id: string, routes: string[] = []) =>
  ipam.requestPools(id, { config: [], enableIPv6: false }, [], routes)[0].Subnet;

test('default pools are handed out in Docker order with .1 gateways', () => {
  const ipam = new Ipam();
  assert.deepEqual(ipam.requestPools('bridge', { config: [], enableIPv6: false }), [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]);
  assert.deepEqual(ipam.requestPools('n1', { config: [], enableIPv6: false }), [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
  assert.equal(auto(ipam, 'n2'), '172.19.0.0/16');
});

test('31 networks fit in the defaults, the 32nd fails with NotFound', () => {
  const ipam = new Ipam();
  const got: string[] = [];
  for (let i = 0; i < 31; i++) got.push(auto(ipam, `n${i}`));
  assert.equal(got[14], '172.31.0.0/16');
  assert.equal(got[15], '192.168.0.0/20');
  assert.equal(got[30], '192.168.240.0/20');
  assert.throws(
    () => auto(ipam, 'n31'),
    err('NotFound', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network'),
  );
});

test('the cursor rotates: a released subnet is not reused at once, then wraps around', () => {
  const ipam = new Ipam();
  auto(ipam, 'a'); // 172.17
  auto(ipam, 'b'); // 172.18
  ipam.releasePools('a');
  assert.equal(auto(ipam, 'c'), '172.19.0.0/16');
  const fresh = new Ipam([{ base: '10.0.0.0/23', size: 24 }]);
  assert.equal(auto(fresh, 'x'), '10.0.0.0/24');
  assert.equal(auto(fresh, 'y'), '10.0.1.0/24');
  fresh.releasePools('x');
  assert.equal(auto(fresh, 'z'), '10.0.0.0/24');
});

test('default pools overlapping host routes are skipped (default route ignored)', () => {
  const ipam = new Ipam();
  assert.equal(auto(ipam, 'a', ['0.0.0.0/0', '172.17.0.0/16', '172.18.3.0/24']), '172.19.0.0/16');
  // the skipped pools were only held for the search: they are free for a user subnet
  assert.deepEqual(ipam.allocatedSubnets(), ['172.19.0.0/16']);
  ipam.requestPools('u', { config: [{ Subnet: '172.17.0.0/16' }], enableIPv6: false }, [], ['172.17.0.0/16']);
  assert.throws(() => auto(ipam, 'b', ['172.16.0.0/12', '192.168.0.0/16']), err('NotFound', /IPv4 address pool/));
});

test("default pools overlapping existing networks' subnets are skipped", () => {
  const ipam = new Ipam();
  assert.equal(
    ipam.requestPools('n', { config: [], enableIPv6: false }, [{ id: 'other', subnets: ['172.16.0.0/14', 'fd00::/64'] }])[0].Subnet,
    '172.20.0.0/16',
  );
});

test('user subnet: normalized, gateway .1, overlap is Forbidden', () => {
  const ipam = new Ipam();
  assert.deepEqual(ipam.requestPools('a', { config: [{ Subnet: '10.5.0.7/16' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/16', Gateway: '10.5.0.1' },
  ]);
  const overlap = err('Forbidden', 'Pool overlaps with other one on this address space');
  assert.throws(() => ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), overlap);
  assert.throws(() => ipam.requestPools('b', { config: [{ Subnet: '10.5.3.0/24' }], enableIPv6: false }), overlap);
  assert.throws(() => ipam.requestPools('b', { config: [{ Subnet: '10.0.0.0/8' }], enableIPv6: false }), overlap);
  assert.throws(
    () => ipam.requestPools('b', { config: [{ Subnet: '192.168.9.0/24' }], enableIPv6: false }, [{ id: 'x', subnets: ['192.168.0.0/16'] }]),
    overlap,
  );
  // user subnets are not checked against host routes
  assert.equal(ipam.requestPools('c', { config: [{ Subnet: '10.6.0.0/16' }], enableIPv6: false }, [], ['10.6.0.0/16'])[0].Subnet, '10.6.0.0/16');
  // a failed request leaves nothing behind
  assert.ok(!ipam.has('b'));
  ipam.releasePools('a');
  assert.equal(ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false })[0].Subnet, '10.5.0.0/16');
});

test('the network itself may be listed among the existing networks', () => {
  const ipam = new Ipam();
  ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }, [{ id: 'a', subnets: ['10.5.0.0/16'] }]);
});

test('invalid subnet and gateway texts', () => {
  const ipam = new Ipam();
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/33' }], enableIPv6: false }),
    err('System', 'Invalid subnet 10.5.0.0/33 : invalid CIDR address: 10.5.0.0/33'),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.300' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid gateway address 10.5.0.300 in Ipam configuration'),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.6.0.1' }], enableIPv6: false }),
    err('System', 'failed to allocate gateway (10.6.0.1): Requested address is out of range'),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.0' }], enableIPv6: false }),
    err('System', 'failed to allocate gateway (10.5.0.0): Address already in use'),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('given gateway is reserved and echoed', () => {
  const ipam = new Ipam();
  assert.deepEqual(ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.254' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/24', Gateway: '10.5.0.254' },
  ]);
  assert.ok(ipam.isAllocated('a', '10.5.0.254'));
  assert.equal(ipam.requestAddress('a', 4), '10.5.0.1/24');
});

test('ip-range: gateway and addresses come from the range (first address included)', () => {
  const ipam = new Ipam();
  assert.deepEqual(ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/30' }], enableIPv6: false }), [
    { Subnet: '10.5.0.0/16', Gateway: '10.5.1.0', IPRange: '10.5.1.0/30' },
  ]);
  assert.equal(ipam.requestAddress('a', 4), '10.5.1.1/16');
  assert.equal(ipam.requestAddress('a', 'v4'), '10.5.1.2/16');
  assert.equal(ipam.requestAddress('a', 4), '10.5.1.3/16');
  assert.throws(() => ipam.requestAddress('a', 4), err('System', "no available IPv4 addresses on this network's address pools: a (a)"));
  // static addresses may lie outside the range, inside the subnet
  assert.equal(ipam.requestAddress('a', 4, '10.5.200.9'), '10.5.200.9/16');
});

test('ip-range with explicit gateway', () => {
  const ipam = new Ipam();
  const r = ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/24', Gateway: '10.5.0.1' }], enableIPv6: false });
  assert.equal(r[0].Gateway, '10.5.0.1');
  assert.equal(ipam.requestAddress('a', 4), '10.5.1.0/16');
});

test('ip-range errors', () => {
  const ipam = new Ipam();
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.6.0.0/24' }], enableIPv6: false }),
    err('InvalidParameter', "invalid network config:\ninvalid ip-range 10.6.0.0/24: parent subnet 10.5.0.0/16 doesn't contain ip-range"),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.0.0.0/8' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.5.0.0/16'),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '11.0.0.0/8' }], enableIPv6: false }),
    err(
      'InvalidParameter',
      'invalid network config:\n* invalid ip-range 11.0.0.0/8: CIDR block is bigger than its parent subnet 10.5.0.0/16\n' +
        "* invalid ip-range 11.0.0.0/8: parent subnet 10.5.0.0/16 doesn't contain ip-range",
    ),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: 'fd00::/64' }], enableIPv6: false }),
    err('InvalidParameter', 'invalid network config:\ninvalid ip-range fd00::/64: parent subnet is an IPv4 block'),
  );
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: 'bogus' }], enableIPv6: false }),
    err('System', 'failed to parse pool request for address space "LocalDefault" pool "10.5.0.0/16" subpool "bogus": Invalid Address SubPool'),
  );
});

test('two networks may share a subnet with different ip-ranges (libnetwork child pools)', () => {
  const ipam = new Ipam();
  ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.1.0/24' }], enableIPv6: false });
  ipam.requestPools('b', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.2.0/24' }], enableIPv6: false });
  assert.throws(
    () => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16', IPRange: '10.5.2.0/24' }], enableIPv6: false }),
    err('Forbidden', 'Pool overlaps with other one on this address space'),
  );
  assert.throws(() => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), err('Forbidden', /Pool overlaps/));
  ipam.releasePools('a');
  assert.deepEqual(ipam.allocatedSubnets(), ['10.5.0.0/16']);
  ipam.releasePools('b');
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('aux addresses are reserved, validated with Docker texts', () => {
  const ipam = new Ipam();
  const r = ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/29', AuxiliaryAddresses: { router: '10.5.0.2', dns: '10.5.0.3' } }], enableIPv6: false }, [], [], );
  assert.deepEqual(r[0].AuxiliaryAddresses, { router: '10.5.0.2', dns: '10.5.0.3' });
  assert.equal(ipam.requestAddress('a', 4), '10.5.0.4/29');
  assert.throws(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: 'nope' } }], enableIPv6: false, name: 'bnet' }),
    err('InvalidParameter', 'non parsable secondary ip address (x:nope) passed for network bnet'),
  );
  assert.throws(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: '10.7.0.1' } }], enableIPv6: false }),
    err('Forbidden', 'auxilairy address: (x:10.7.0.1) must belong to the master pool: 10.6.0.0/24'),
  );
  assert.throws(
    () => ipam.requestPools('b', { config: [{ Subnet: '10.6.0.0/24', AuxiliaryAddresses: { x: '10.6.0.1' } }], enableIPv6: false }),
    err('System', 'failed to allocate secondary ip address (x:10.6.0.1): Address already in use'),
  );
  ipam.releasePools('a');
  ipam.requestPools('a2', { config: [{ Subnet: '10.5.0.0/29' }], enableIPv6: false });
  assert.equal(ipam.requestAddress('a2', 4), '10.5.0.2/29');
});

test('addresses: lowest free first, never network/broadcast/gateway, release and reuse', () => {
  const ipam = new Ipam();
  ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/29' }], enableIPv6: false });
  const got = [1, 2, 3, 4, 5].map(() => ipam.requestAddress('a', 4));
  assert.deepEqual(got, ['10.5.0.2/29', '10.5.0.3/29', '10.5.0.4/29', '10.5.0.5/29', '10.5.0.6/29']);
  assert.throws(() => ipam.requestAddress('a', 4), err('System', "no available IPv4 addresses on this network's address pools: a (a)"));
  assert.ok(ipam.releaseAddress('a', '10.5.0.4/29'));
  assert.ok(!ipam.releaseAddress('a', '10.5.0.4/29'));
  assert.ok(ipam.releaseAddress('a', '10.5.0.3'));
  assert.equal(ipam.requestAddress('a', 4), '10.5.0.3/29');
  assert.equal(ipam.requestAddress('a', 4), '10.5.0.4/29');
});

test('the network name appears in the exhaustion error', () => {
  const ipam = new Ipam();
  ipam.requestPools('0123abcd', { config: [{ Subnet: '10.5.0.0/30' }], enableIPv6: false, name: 'front' });
  ipam.requestAddress('0123abcd', 4);
  assert.throws(() => ipam.requestAddress('0123abcd', 4), err('System', "no available IPv4 addresses on this network's address pools: front (0123abcd)"));
});

test('static addresses', () => {
  const ipam = new Ipam();
  ipam.requestPools('auto', { config: [], enableIPv6: false });
  assert.throws(
    () => ipam.requestAddress('auto', 4, '172.17.0.9'),
    err('InvalidParameter', 'user specified IP address is supported only when connecting to networks with user configured subnets'),
  );
  assert.throws(() => ipam.validateStaticAddresses('auto', { ipv4: '172.17.0.9' }), err('InvalidParameter', /user configured subnets/));
  ipam.requestPools('u', { config: [{ Subnet: '10.5.0.0/24' }], enableIPv6: false });
  ipam.validateStaticAddresses('u', { ipv4: '10.5.0.9' });
  assert.throws(() => ipam.validateStaticAddresses('u', { ipv6: 'fd00::9' }), err('InvalidParameter', /user configured subnets/));
  assert.equal(ipam.requestAddress('u', 4, '10.5.0.9'), '10.5.0.9/24');
  assert.throws(() => ipam.requestAddress('u', 4, '10.5.0.9'), err('Forbidden', 'Address already in use'));
  assert.throws(() => ipam.requestAddress('u', 4, '10.5.0.1'), err('Forbidden', 'Address already in use'));
  assert.throws(
    () => ipam.requestAddress('u', 4, '10.9.0.9'),
    err('InvalidParameter', "Invalid address 10.9.0.9: It does not belong to any of this network's subnets"),
  );
  // dynamic allocation skips the static one
  const seen = new Set<string>();
  for (let i = 0; i < 252; i++) seen.add(ipam.requestAddress('u', 4));
  assert.ok(!seen.has('10.5.0.9/24'));
  assert.equal(seen.size, 252);
  assert.throws(() => ipam.requestAddress('u', 4), err('System', /no available IPv4 addresses/));
  // a full pool answers "no available addresses" before "already in use", as bitseq does
  ipam.releaseAddress('u', '10.5.0.9');
  ipam.requestAddress('u', 4, '10.5.0.9');
  assert.throws(() => ipam.requestAddress('u', 4, '10.5.0.9'), err('Unavailable', 'No available addresses on this pool'));
});

test('allocation on a /16 is fast (no full scans)', () => {
  const ipam = new Ipam();
  ipam.requestPools('big', { config: [{ Subnet: '10.0.0.0/16' }], enableIPv6: false });
  const t0 = performance.now();
  let last = '';
  for (let i = 0; i < 65533; i++) last = ipam.requestAddress('big', 4);
  assert.equal(last, '10.0.255.254/16');
  for (let i = 0; i < 1000; i++) {
    ipam.releaseAddress('big', `10.0.${(i * 37) % 250}.${(i % 200) + 2}`);
    ipam.requestAddress('big', 4);
  }
  assert.ok(performance.now() - t0 < 5000);
});

test('multiple v4 subnets: the next pool is used when the first is full', () => {
  const ipam = new Ipam();
  ipam.requestPools('m', { config: [{ Subnet: '10.5.0.0/30' }, { Subnet: '10.6.0.0/30' }], enableIPv6: false });
  assert.equal(ipam.requestAddress('m', 4), '10.5.0.2/30');
  assert.equal(ipam.requestAddress('m', 4), '10.6.0.2/30');
  assert.throws(() => ipam.requestAddress('m', 4), err('System', /no available IPv4 addresses/));
  ipam.releaseAddress('m', '10.6.0.2/30');
  assert.equal(ipam.requestAddress('m', 4, '10.6.0.2'), '10.6.0.2/30');
});

test('overlapping subnets within one request are refused and rolled back', () => {
  const ipam = new Ipam();
  assert.throws(
    () => ipam.requestPools('m', { config: [{ Subnet: '10.5.0.0/16' }, { Subnet: '10.5.1.0/24' }], enableIPv6: false }),
    err('Forbidden', /Pool overlaps/),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []);
});

test('IPv6: subnet required with enableIPv6 (20.10), ::1 gateway, no broadcast reservation', () => {
  const ipam = new Ipam();
  assert.throws(
    () => ipam.requestPools('a', { config: [], enableIPv6: true }),
    err('NotFound', 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network'),
  );
  assert.deepEqual(ipam.allocatedSubnets(), []); // the v4 pool was rolled back
  const r = ipam.requestPools('b', { config: [{ Subnet: 'fd00:1::/64' }, { Subnet: '10.9.0.0/24' }], enableIPv6: true });
  assert.deepEqual(r, [
    { Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' },
    { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
  ]);
  assert.equal(ipam.requestAddress('b', 6), 'fd00:1::2/64');
  assert.equal(ipam.requestAddress('b', 'v6', 'fd00:1::ffff:ffff:ffff:fffe'), 'fd00:1::ffff:ffff:ffff:fffe/64');
  // libnetwork's bitmask for a /64 has 2^64-1 bits: the very last address is out of range
  assert.throws(() => ipam.requestAddress('b', 6, 'fd00:1::ffff:ffff:ffff:ffff'), err('InvalidParameter', 'Requested address is out of range'));
  const small = new Ipam();
  small.requestPools('s', { config: [{ Subnet: 'fd00::/126' }], enableIPv6: true });
  assert.deepEqual([1, 2].map(() => small.requestAddress('s', 6)), ['fd00::2/126', 'fd00::3/126']);
  assert.throws(() => small.requestAddress('s', 6), err('System', /no available IPv6 addresses/));
});

test('IPv6 subnets of a network without IPv6 are echoed but not allocated', () => {
  const ipam = new Ipam();
  const r = ipam.requestPools('a', { config: [{ Subnet: 'fd00::/64', Gateway: 'fd00::1' }], enableIPv6: false });
  assert.deepEqual(r, [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }, { Subnet: 'fd00::/64', Gateway: 'fd00::1' }]);
  assert.equal(ipam.requestAddress('a', 6), '');
  assert.deepEqual(ipam.allocatedSubnets(), ['172.17.0.0/16']);
});

test('IPv6 default pools when configured', () => {
  const ipam = new Ipam({ pools: [{ base: '172.30.0.0/16', size: 24 }, { base: 'fd42::/48', size: 64 }] });
  const r = ipam.requestPools('a', { config: [], enableIPv6: true });
  assert.deepEqual(r, [
    { Subnet: '172.30.0.0/24', Gateway: '172.30.0.1' },
    { Subnet: 'fd42::/64', Gateway: 'fd42::1' },
  ]);
});

test('restore and markAllocated rebuild state', () => {
  const ipam = new Ipam();
  ipam.restorePools('a', {
    config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1', AuxiliaryAddresses: { r: '10.5.0.2' } }],
    enableIPv6: false,
    userConfigured: { v4: false, v6: false },
  });
  ipam.markAllocated('a', '10.5.0.3/24');
  ipam.markAllocated('a', '10.5.0.3/24'); // idempotent
  assert.equal(ipam.requestAddress('a', 4), '10.5.0.4/24');
  assert.throws(() => ipam.requestAddress('a', 4, '10.5.0.9'), err('InvalidParameter', /user configured subnets/));
  assert.throws(() => ipam.markAllocated('a', '10.6.0.3'), err('InvalidParameter', /does not belong/));
  // the bare-array form (allows static IPs)
  ipam.restorePools('b', [{ Subnet: '10.6.0.0/24', Gateway: '10.6.0.1' }]);
  assert.equal(ipam.requestAddress('b', 4, '10.6.0.9'), '10.6.0.9/24');
  // restored pools count for overlap and for the default-pool search
  assert.throws(() => ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false }), err('Forbidden', /Pool overlaps/));
  ipam.releasePools('a');
  ipam.releasePools('a'); // unknown ids are ignored
  ipam.requestPools('c', { config: [{ Subnet: '10.5.0.0/16' }], enableIPv6: false });
});

test('unknown network', () => {
  const ipam = new Ipam();
  assert.throws(() => ipam.requestAddress('nope', 4), err('System', /no IPAM state/));
  assert.equal(ipam.releaseAddress('nope', '10.0.0.1'), false);
  ipam.requestPools('a', { config: [], enableIPv6: false });
  assert.throws(() => ipam.requestPools('a', { config: [], enableIPv6: false }), WeftError);
});

test('/31 and /32 behave as in 20.10 (no usable addresses)', () => {
  const ipam = new Ipam();
  assert.throws(
    () => ipam.requestPools('a', { config: [{ Subnet: '10.5.0.0/31' }], enableIPv6: false }),
    err('System', 'failed to allocate gateway (): No available addresses on this pool'),
  );
});

test('defaultBridgeConfig mirrors dockerd', () => {
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
