import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_DEFAULT_POOLS, PredefinedPools, findAvailableNetwork, parseHostRoutes, parsePoolSpec } from '../../src/ipam/pools.js';
import { formatCidr } from '../../src/ipam/cidr.js';
import { WeftError } from '../../src/common/errors.js';

test("Docker's default pools: 172.17..31 as /16s, then 192.168.0.0/16 as /20s, 31 in all", () => {
  const p = new PredefinedPools(DOCKER_DEFAULT_POOLS);
  assert.equal(p.length, 31n);
  const all = p.list(100);
  assert.deepEqual(all.slice(0, 15), Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`));
  assert.deepEqual(all.slice(15), Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`));
});

test('custom pools split like --default-address-pool base=10.10.0.0/16,size=24', () => {
  const p = new PredefinedPools([parsePoolSpec('base=10.10.0.0/16,size=24'), { base: '10.20.0.0/23', size: 24 }]);
  assert.equal(p.length, 258n);
  assert.equal(formatCidr(p.at(0n)), '10.10.0.0/24');
  assert.equal(formatCidr(p.at(255n)), '10.10.255.0/24');
  assert.equal(formatCidr(p.at(256n)), '10.20.0.0/24');
  assert.equal(formatCidr(p.at(257n)), '10.20.1.0/24');
  // an unnormalized base is normalized, as net.ParseCIDR does
  assert.equal(formatCidr(new PredefinedPools([{ base: '10.10.3.4/16', size: 16 }]).at(0n)), '10.10.0.0/16');
});

test('IPv6 bases are enumerated lazily', () => {
  const p = new PredefinedPools([{ base: 'fd00::/8', size: 64 }]);
  assert.equal(p.length, 1n << 56n);
  assert.equal(formatCidr(p.at(1n)), 'fd00:0:0:1::/64');
  assert.equal(formatCidr(p.at((1n << 56n) - 1n)), 'fdff:ffff:ffff:ffff::/64');
});

test('invalid pools use ipamutils texts', () => {
  assert.throws(() => new PredefinedPools([{ base: '10.10.0.0/33', size: 24 }]), {
    message: 'invalid base pool "10.10.0.0/33": invalid CIDR address: 10.10.0.0/33',
  });
  assert.throws(() => new PredefinedPools([{ base: '10.10.0.0/16', size: 8 }]), { message: 'invalid pools size: 8' });
  assert.throws(() => new PredefinedPools([{ base: '10.10.0.0/16', size: 0 }]), { message: 'invalid pools size: 0' });
  assert.throws(() => new PredefinedPools([{ base: '10.10.0.0/16', size: 33 }]), WeftError);
});

test('parsePoolSpec', () => {
  assert.deepEqual(parsePoolSpec('base=10.10.0.0/16,size=24'), { base: '10.10.0.0/16', size: 24 });
  assert.deepEqual(parsePoolSpec('size=24,base=10.10.0.0/16'), { base: '10.10.0.0/16', size: 24 });
  assert.throws(() => parsePoolSpec('base=10.10.0.0/16'), /both base and size/);
  assert.throws(() => parsePoolSpec('base=10.10.0.0/16,size=x'), /invalid size/);
  assert.throws(() => parsePoolSpec('base=10.10.0.0/16,size=24,foo=1'), { message: 'invalid field key foo' });
  assert.throws(() => parsePoolSpec('10.10.0.0/16'), { message: "invalid field '10.10.0.0/16' must be a key=value pair" });
});

test('host routes: default routes and junk are ignored, bare addresses are host routes', () => {
  const r = parseHostRoutes(['default', '0.0.0.0/0', '::/0', '10.0.0.0/8', '192.168.1.7', 'garbage', 'fe80::/64']);
  assert.deepEqual(r.map(formatCidr), ['10.0.0.0/8', '192.168.1.7/32', 'fe80::/64']);
});

test('findAvailableNetwork skips pools overlapping host routes', () => {
  const p = new PredefinedPools(DOCKER_DEFAULT_POOLS);
  assert.equal(formatCidr(findAvailableNetwork(p, [])!), '172.17.0.0/16');
  assert.equal(formatCidr(findAvailableNetwork(p, ['0.0.0.0/0', '172.17.5.0/24'])!), '172.18.0.0/16');
  assert.equal(formatCidr(findAvailableNetwork(p, ['172.16.0.0/12'])!), '192.168.0.0/20');
  assert.equal(findAvailableNetwork(p, ['172.16.0.0/12', '192.168.0.0/16']), null);
  assert.equal(formatCidr(findAvailableNetwork(p, [], ['172.17.0.0/16'])!), '172.18.0.0/16');
});
