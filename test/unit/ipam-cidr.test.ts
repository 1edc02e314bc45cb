import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockSize,
  cidrContains,
  cidrOverlaps,
  formatCidr,
  formatIp,
  lastAddress,
  nthAddress,
  parseCidr,
  parseIp,
} from '../../src/ipam/cidr.js';
import { OrdinalSet } from '../../src/ipam/bitmap.js';

const c = (s: string) => {
  const r = parseCidr(s);
  assert.ok(r, `parse ${s}`);
  return r;
};
const ip = (s: string) => {
  const r = parseIp(s);
  assert.ok(r, `parse ${s}`);
  return r;
};

test('parses and formats IPv4 addresses like Go', () => {
  assert.equal(formatIp(4, ip('172.17.0.1').value), '172.17.0.1');
  assert.equal(formatIp(4, ip('0.0.0.0').value), '0.0.0.0');
  assert.equal(formatIp(4, ip('255.255.255.255').value), '255.255.255.255');
  for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.-1', '', 'a.b.c.d', '1.2.3.4 ']) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('parses and formats IPv6 addresses (RFC 5952)', () => {
  assert.equal(formatIp(6, ip('fd00::1').value), 'fd00::1');
  assert.equal(formatIp(6, ip('FD00:0:0:0:0:0:0:1').value), 'fd00::1');
  assert.equal(formatIp(6, ip('::').value), '::');
  assert.equal(formatIp(6, ip('::1').value), '::1');
  assert.equal(formatIp(6, ip('2001:db8:0:0:1:0:0:1').value), '2001:db8::1:0:0:1');
  assert.equal(formatIp(6, ip('2001:db8:0:1:1:1:1:1').value), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIp(6, ip('1:2:3:4:5:6:7::').value), '1:2:3:4:5:6:7:0');
  assert.equal(formatIp(6, ip('::ffff:1.2.3.4').value), '::ffff:102:304');
  for (const bad of ['1::2::3', ':1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '12345::', 'g::1']) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('parseCidr keeps the written address and normalizes the network', () => {
  const x = c('172.18.0.5/16');
  assert.equal(formatIp(4, x.ip), '172.18.0.5');
  assert.equal(formatCidr(x), '172.18.0.0/16');
  assert.equal(formatCidr(c('fd00:1:2:3::7/64')), 'fd00:1:2:3::/64');
  assert.equal(formatCidr(c('10.0.0.0/0')), '0.0.0.0/0');
  for (const bad of ['172.18.0.0', '172.18.0.0/33', '172.18.0.0/-1', 'fd00::/129', '/16', 'x/8', '1.2.3.4/ 8']) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

test('contains, overlaps, nth and last address', () => {
  assert.ok(cidrContains(c('10.0.0.0/8'), ip('10.255.1.2')));
  assert.ok(!cidrContains(c('10.0.0.0/8'), ip('11.0.0.0')));
  assert.ok(!cidrContains(c('10.0.0.0/8'), ip('::a00:1')));
  assert.ok(cidrOverlaps(c('10.0.0.0/8'), c('10.1.0.0/16')));
  assert.ok(cidrOverlaps(c('10.1.0.0/16'), c('10.0.0.0/8')));
  assert.ok(!cidrOverlaps(c('10.1.0.0/16'), c('10.2.0.0/16')));
  assert.ok(!cidrOverlaps(c('0.0.0.0/0'), c('::/0')));
  assert.equal(formatIp(4, nthAddress(c('172.18.0.0/16'), 2n)), '172.18.0.2');
  assert.equal(formatIp(4, lastAddress(c('172.18.0.0/16'))), '172.18.255.255');
  assert.equal(blockSize(c('fd00::/64')), 1n << 64n);
  assert.throws(() => nthAddress(c('10.0.0.0/30'), 4n), RangeError);
});

test('OrdinalSet: set, unset, merging runs, lowest clear', () => {
  const s = new OrdinalSet(16n);
  assert.equal(s.unselected, 16n);
  assert.ok(s.set(0n));
  assert.ok(!s.set(0n));
  assert.ok(s.set(2n));
  assert.equal(s.runs, 2);
  assert.ok(s.set(1n));
  assert.equal(s.runs, 1);
  assert.equal(s.firstClear(0n, 15n), 3n);
  assert.equal(s.setAnyInRange(0n, 15n, false), 3n);
  assert.ok(s.unset(1n));
  assert.equal(s.runs, 2);
  assert.equal(s.setAnyInRange(0n, 15n, false), 1n);
  assert.ok(!s.unset(9n));
  assert.equal(s.setAnyInRange(10n, 11n, false), 10n);
  assert.equal(s.setAnyInRange(10n, 11n, false), 11n);
  assert.equal(s.setAnyInRange(10n, 11n, false), null);
  assert.throws(() => s.set(16n), RangeError);
});

test('OrdinalSet serial mode continues after the last one handed out, then wraps', () => {
  const s = new OrdinalSet(8n);
  assert.equal(s.setAnyInRange(0n, 7n, true), 0n);
  assert.equal(s.setAnyInRange(0n, 7n, true), 1n);
  assert.equal(s.setAnyInRange(0n, 7n, true), 2n);
  s.unset(1n);
  assert.equal(s.setAnyInRange(0n, 7n, true), 3n);
  for (const want of [4n, 5n, 6n, 7n, 1n]) assert.equal(s.setAnyInRange(0n, 7n, true), want);
  assert.equal(s.setAnyInRange(0n, 7n, true), null);
});

test('OrdinalSet handles an IPv6-sized universe', () => {
  const s = new OrdinalSet((1n << 64n) - 1n);
  s.set(0n);
  assert.equal(s.setAnyInRange(0n, s.size - 1n, false), 1n);
  assert.ok(s.set((1n << 63n) + 5n));
  assert.ok(s.isSet((1n << 63n) + 5n));
  assert.equal(s.unselected, (1n << 64n) - 1n - 3n);
});
