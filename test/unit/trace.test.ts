import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import type { Kernel, RouteInfo } from '../../src/kernel/types.js';
import { Registry } from '../../src/engine/registry.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { trace } from '../../src/engine/trace/trace.js';
import type { NftObject } from '../../src/engine/trace/nft-eval.js';
import { containerRecord, endpointRecord, networkRecord, testId } from '../helpers/records.js';

// trace() on records and a kernel that answers with a given ruleset and routes: what it reports
// when weft's own set elements are not what the records imply (someone deleted one by hand; the
// firewall watch puts it back within a second, which is why the e2e tests edit weft-user instead).

const base: NftObject[] = JSON.parse(readFileSync(new URL('../../../test/unit/fixtures/weft-ruleset.json', import.meta.url), 'utf8')).nftables;

function ruleset(elems: Record<string, unknown[]>): NftObject[] {
  return base
    .filter((o) => !(o.rule && o.rule.chain === 'weft-user'))
    .map((o) => {
      const s = o.set ?? o.map;
      if (!s || !(s.name in elems)) return o;
      return { [o.set ? 'set' : 'map']: { ...s, elem: elems[s.name] } };
    });
}

async function world(rs: NftObject[]) {
  const registry = new Registry(new SqliteStore(new Database(':memory:')));
  await registry.load();
  const n1 = networkRecord({ id: testId(1, 'a'), name: 'n1', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1' }] }, driverState: { bridgeName: 'br-n1', icc: 'true' } });
  const q = networkRecord({ id: testId(2, 'a'), name: 'q', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.2.0.0/24', Gateway: '10.2.0.1' }] }, driverState: { bridgeName: 'br-q', icc: 'false' } });
  for (const n of [n1, q]) await registry.networks.put(n);
  const mk = async (i: number, name: string, net: typeof n1, ip: string, ports?: { proto: 'tcp'; containerPort: number; hostIp: string; hostPort: number }[]) => {
    const ep = endpointRecord(i, net, ip, ports ? { ports } : {});
    await registry.containers.put(containerRecord({ id: ep.containerId, name, networkMode: net.name, netnsPath: `/run/fake/${name}`, networks: [{ networkId: net.id, aliases: [], links: [], ipv4Address: '', ipv6Address: '', driverOpts: {} }] }));
    await registry.endpoints.put(ep);
  };
  await mk(1, 'ca', n1, '10.1.0.2');
  await mk(2, 'cb', n1, '10.1.0.3', [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]);
  await mk(3, 'cq', q, '10.2.0.2');
  const routes: Record<string, RouteInfo[]> = {
    '/run/fake/ca': [{ dst: 'default', gateway: '10.1.0.1', dev: 'eth0' }, { dst: '10.1.0.0/24', dev: 'eth0' }],
    host: [{ dst: '10.1.0.0/24', dev: 'br-n1' }, { dst: '10.2.0.0/24', dev: 'br-q' }],
  };
  const kernel = { nftList: async () => rs, routes: async (_f: 4 | 6, o?: { ns?: string }) => routes[o?.ns ?? 'host'] ?? [] } as unknown as Kernel;
  const dnsLookup = (src: string, name: string) => (src === '10.1.0.2' && name === 'cb' ? ['10.1.0.3'] : null);
  return { registry, kernel, dnsLookup, isRealized: () => true };
}

const ELEMS = {
  bridges: ['br-n1', 'br-q'],
  icc: [{ concat: ['br-n1', 'br-n1'] }],
  internal: [],
  pub4: [[{ concat: ['tcp', 8080] }, { concat: ['10.1.0.3', 80] }]],
};

test('records and kernel agree: reachable, no disagreement', async () => {
  const t = await trace(await world(ruleset(ELEMS)), 'ca', 'cb', '80/tcp');
  assert.equal(t.reachable, true);
  assert.deepEqual(t.disagreements, []);
  assert.deepEqual(t.steps.map((s) => [s.step, s.ok]), [
    ['containers', true],
    ['shared networks', true],
    ['route to 10.1.0.3 (n1)', true],
    ['firewall to 10.1.0.3 (n1)', true],
    ['published 0.0.0.0:8080/tcp', true],
    ['dns cb', true],
  ]);
  const other = await trace(await world(ruleset(ELEMS)), 'ca', 'cq');
  assert.equal(other.reachable, false);
  assert.match(other.steps.find((s) => s.step.startsWith('firewall'))!.detail, /br-n1 -> br-q: drop by rule inet weft forward handle 24/);
  assert.deepEqual(other.disagreements, []);
  const self = await trace(await world(ruleset(ELEMS)), 'ca', 'ca');
  assert.deepEqual([self.reachable, self.steps.map((s) => s.step)], [true, ['containers', 'same container']]);
});

test('an icc element deleted by hand: the live verdict, and both disagreements', async () => {
  const t = await trace(await world(ruleset({ ...ELEMS, icc: [] })), 'ca', 'cb');
  assert.equal(t.reachable, false);
  assert.deepEqual(t.disagreements, [
    'set icc lacks br-n1 . br-n1, but the records say n1 is ICC on',
    '10.1.0.3 (n1): the records imply reachable (same-network: ca and cb are both on n1, which has ICC), but the live state does not: drop by rule inet weft forward handle 24: iifname @bridges oifname @bridges drop',
  ]);
});

test('an element added by hand and a published port missing from the map', async () => {
  const w = await world(ruleset({ ...ELEMS, icc: [...ELEMS.icc, { concat: ['br-q', 'br-q'] }], pub4: [] }));
  // Only the networks of A and B are checked: q is neither ca's nor cb's.
  assert.ok(!(await trace(w, 'ca', 'cb')).disagreements.some((d) => d.includes('br-q')));
  assert.deepEqual((await trace(w, 'ca', 'cq')).disagreements, ['set icc holds br-q . br-q, but the records say q is ICC off']);
  const t = await trace(w, 'ca', 'cb', '80');
  assert.ok(t.disagreements.includes('map pub4 has no element for 0.0.0.0:8080/tcp, which the records publish to 10.1.0.3:80'), t.disagreements.join('\n'));
  assert.equal(t.steps.find((s) => s.step === 'published 0.0.0.0:8080/tcp')?.ok, false);
  const gone = await trace(await world(base.filter((o) => !o.set && !o.map)), 'ca', 'cb');
  assert.match(gone.disagreements.join('\n'), /table inet weft is not in the kernel/);
});
