import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseTableScript, fullTableScript, networkElements, type NftNetwork } from '../../src/kernel/nft.js';

const net = (over: Partial<NftNetwork> = {}): NftNetwork => ({
  bridge: 'br-0123456789ab',
  icc: true,
  masquerade: true,
  internal: false,
  subnets4: ['10.231.1.0/24'],
  subnets6: [],
  ...over,
});

test('base table owns its sets and chains without flushing the whole table', () => {
  const s = baseTableScript();
  assert.match(s, /^add table inet weft\n/);
  assert.doesNotMatch(s, /flush table/);
  assert.doesNotMatch(s, /flush chain inet weft weft-user/); // the admin's chain survives restarts
  for (const set of ['bridges', 'icc', 'internal', 'masq4', 'masq6']) {
    assert.match(s, new RegExp(`add set inet weft ${set} \\{`));
    assert.match(s, new RegExp(`flush set inet weft ${set}\\n`));
  }
  const forward = s.split('\n').filter((l) => l.startsWith('add rule inet weft forward ')).map((l) => l.slice(27));
  assert.deepEqual(forward, [
    'jump weft-user',
    'iifname . oifname @icc accept',
    'iifname @internal drop',
    'oifname @internal drop',
    'oifname @bridges ct state established,related accept',
    'iifname @bridges oifname @bridges drop',
    'iifname @bridges accept',
    'oifname @bridges ct status dnat accept',
    'oifname @bridges drop',
  ]);
  assert.match(s, /add rule inet weft postrouting ip saddr @masq4 oifname != @bridges masquerade/);
  assert.match(s, /type nat hook postrouting priority srcnat/);
});

test('rule count does not grow with networks', () => {
  const one = fullTableScript([net()]);
  const many = fullTableScript(Array.from({ length: 50 }, (_, i) => net({ bridge: `br-${i}`, subnets4: [`10.${i}.0.0/24`] })));
  const rules = (s: string) => s.split('\n').filter((l) => l.startsWith('add rule')).length;
  assert.equal(rules(one), rules(many));
});

test('network elements: add', () => {
  assert.deepEqual(networkElements(net(), 'add'), [
    'add element inet weft bridges { "br-0123456789ab" }',
    'add element inet weft icc { "br-0123456789ab" . "br-0123456789ab" }',
    'add element inet weft masq4 { 10.231.1.0/24 }',
  ]);
});

test('network elements: icc off, no masquerade, ipv6', () => {
  assert.deepEqual(networkElements(net({ icc: false, masquerade: false }), 'add'), ['add element inet weft bridges { "br-0123456789ab" }']);
  const v6 = networkElements(net({ subnets6: ['fd00:1::/64'] }), 'add');
  assert.ok(v6.includes('add element inet weft masq6 { fd00:1::/64 }'));
});

test('internal networks are never masqueraded', () => {
  const lines = networkElements(net({ internal: true }), 'add');
  assert.ok(lines.includes('add element inet weft internal { "br-0123456789ab" }'));
  assert.ok(!lines.some((l) => l.includes('masq')));
});

test('delete is add-then-delete so it is idempotent', () => {
  const lines = networkElements(net(), 'delete');
  assert.equal(lines.length, 6);
  for (let i = 0; i < lines.length; i += 2) {
    assert.ok(lines[i].startsWith('add element '));
    assert.equal(lines[i + 1], lines[i].replace(/^add/, 'delete'));
  }
});

test('rejects names and subnets that could inject nft syntax', () => {
  assert.throws(() => networkElements(net({ bridge: 'br" } ; flush' }), 'add'));
  assert.throws(() => networkElements(net({ subnets4: ['10.0.0.0/8 }'] }), 'add'));
});
