import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateHook, liveMap, ruleText, type NftObject, type Packet } from '../../src/engine/trace/nft-eval.js';
import { parsePort, routeFor } from '../../src/engine/trace/trace.js';

// The pure parts of `weft network trace`: a packet walked through a ruleset as `nft -j list
// ruleset` printed it (test/unit/fixtures/weft-ruleset.json, read back from a weftd: networks
// q (ICC off, br-9acca224e724) and i (internal, br-fe3ae1ffebdc), a published 8080, and a
// weft-user rule added by hand), route choice, and port parsing.

const rs: NftObject[] = JSON.parse(readFileSync(new URL('../../../test/unit/fixtures/weft-ruleset.json', import.meta.url), 'utf8')).nftables;
const Q = 'br-9acca224e724';
const I = 'br-fe3ae1ffebdc';
const pkt = (p: Partial<Packet>): Packet => ({ iifname: 'weft0', oifname: 'weft0', saddr: '172.17.0.2', daddr: '172.17.0.3', l4proto: 'icmp', ctState: ['new'], ctStatus: [], ...p });

test('same network with ICC: accepted by the icc set', () => {
  const v = evaluateHook(rs, 'forward', pkt({}));
  assert.equal(v.verdict, 'accept');
  assert.equal(v.rule?.handle, 20);
  assert.equal(v.rule?.text, 'iifname . oifname @icc accept');
});

test('ICC off, other networks, internal: dropped by the rule that says so', () => {
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: Q, oifname: Q })).rule?.text, 'iifname @bridges oifname @bridges drop');
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: 'weft0', oifname: Q })).verdict, 'drop');
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: I, oifname: I })).verdict, 'accept', 'internal members talk (icc)');
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: I, oifname: 'eth0' })).rule?.text, 'iifname @internal drop');
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: 'weft0', oifname: 'eth0' })).rule?.text, 'iifname @bridges accept');
  assert.equal(evaluateHook(rs, 'forward', pkt({ iifname: 'weft0', oifname: 'eth0', ctState: ['established'] })).verdict, 'accept');
});

test('published port: DNAT status is accepted from outside, and the hand-made weft-user rule drops its source', () => {
  const dnat = pkt({ iifname: 'eth0', oifname: Q, saddr: '10.9.9.9', daddr: '172.18.0.2', l4proto: 'tcp', dport: 80, ctStatus: ['dnat'], origDport: 8080 });
  assert.equal(evaluateHook(rs, 'forward', dnat).rule?.handle, 26);
  const v = evaluateHook(rs, 'forward', { ...dnat, saddr: '10.1.2.3' });
  assert.deepEqual([v.verdict, v.rule?.chain, v.rule?.handle], ['drop', 'weft-user', 40]);
  assert.equal(v.rule?.text, 'ip saddr 10.1.2.3 meta l4proto tcp ct original proto-dst 8080 drop');
  assert.equal(evaluateHook(rs, 'forward', { ...dnat, ctStatus: [] }).rule?.text, 'oifname @bridges drop', 'nothing unsolicited');
  assert.deepEqual(liveMap(rs, 'inet', 'weft', 'pub4'), [[{ concat: ['tcp', 8080] }, { concat: ['172.18.0.2', 80] }]]);
});

test('other tables on the forward hook count: a drop policy there is final; rules not understood are reported', () => {
  const extra: NftObject[] = [
    { chain: { family: 'ip', table: 'filter', name: 'FORWARD', handle: 1, type: 'filter', hook: 'forward', prio: 10, policy: 'drop' } },
    { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 2, expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'weft0' } }, { limit: { rate: 1 } }, { accept: null }] } },
    { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 3, expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '172.17.0.0', len: 16 } } } }, { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'br-*' } }, { accept: null }] } },
  ];
  const v = evaluateHook([...rs, ...extra], 'forward', pkt({}));
  assert.equal(v.verdict, 'accept');
  assert.equal(v.rule?.handle, 3, 'weft accepts, then ip filter FORWARD accepts by its prefix rule');
  assert.deepEqual(v.unsure.map((u) => u.handle), [2]);
  assert.equal(v.walked.length, 2);
  const dropped = evaluateHook([...rs, ...extra], 'forward', pkt({ daddr: '10.0.0.1', oifname: 'eth0' }));
  assert.deepEqual([dropped.verdict, dropped.rule, dropped.base], ['drop', null, 'ip filter FORWARD']);
  assert.equal(ruleText(extra[2].rule.expr), 'ip daddr 172.17.0.0/16 oifname != "br-*" accept');
});

test('route choice and port parsing', () => {
  const routes = [{ dst: 'default', gateway: '172.18.0.1', dev: 'eth0' }, { dst: '172.18.0.0/16', dev: 'eth0' }, { dst: '10.1.0.0/24', dev: 'eth1' }];
  assert.equal(routeFor(routes, '10.1.0.7')?.dev, 'eth1');
  assert.equal(routeFor(routes, '172.18.3.4')?.gateway, undefined);
  assert.equal(routeFor(routes, '8.8.8.8')?.gateway, '172.18.0.1');
  assert.equal(routeFor(routes.slice(1), '8.8.8.8'), null);
  assert.deepEqual(parsePort('80'), { port: 80, proto: 'tcp' });
  assert.deepEqual(parsePort('53/UDP'), { port: 53, proto: 'udp' });
  assert.equal(parsePort(''), null);
  assert.throws(() => parsePort('0/tcp'), /invalid port/);
  assert.throws(() => parsePort('80/icmp'), /invalid port/);
});
