import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addressesOf, ownerOf, reach, resolveName, type ModelNetwork, type Topology } from '../../src/engine/reachability.js';
import { topologyOfRecords } from '../../src/engine/reachability-records.js';
import { membership, modelOf, randomScenario, type Observed } from '../helpers/topology.js';
import { endpointRecord, networkRecord, testId } from '../helpers/records.js';
import type { ContainerRecord } from '../../src/common/model.js';

// The reachability model alone: each rule on a small topology, then properties over many
// random topologies (from the generator the isolation e2e test uses), then the adapter from
// the engine's records.

const net = (name: string, n: number, over: Partial<ModelNetwork> = {}): ModelNetwork => ({
  name,
  driver: 'bridge',
  internal: false,
  icc: true,
  dns: true,
  gateways: [`10.0.${n}.1`],
  subnets: [`10.0.${n}.0/24`],
  ...over,
});

// a: on front (bridge-like, icc), back (internal); b: front, quiet (icc off); c: quiet; d: back only; e: default bridge.
const topo: Topology = {
  networks: [net('front', 1), net('back', 2, { internal: true }), net('quiet', 3, { icc: false }), net('bridge', 4, { dns: false })],
  members: [
    { container: 'a', network: 'front', addresses: ['10.0.1.2'], names: ['a', 'web'] },
    { container: 'a', network: 'back', addresses: ['10.0.2.2'], names: ['a'] },
    { container: 'b', network: 'front', addresses: ['10.0.1.3'], names: ['b'] },
    { container: 'b', network: 'quiet', addresses: ['10.0.3.3'], names: ['b'] },
    { container: 'c', network: 'quiet', addresses: ['10.0.3.4'], names: ['c'] },
    { container: 'd', network: 'back', addresses: ['10.0.2.5'], names: ['d'] },
    { container: 'e', network: 'bridge', addresses: ['10.0.4.6'], names: ['e'] },
    { container: 'e2', network: 'bridge', addresses: ['10.0.4.7'], names: ['e2'] },
  ],
  host: ['192.0.2.1'],
};

const rule = (from: Parameters<typeof reach>[1], addr: string) => {
  const v = reach(topo, from, addr);
  return `${v.reachable ? 'yes' : 'no'} ${v.rule}`;
};

describe('reachability rules', () => {
  test('same network: reachable with ICC, not without; internal does not matter', () => {
    assert.equal(rule({ container: 'a' }, '10.0.1.3'), 'yes same-network');
    assert.equal(rule({ container: 'd' }, '10.0.2.2'), 'yes same-network');
    assert.equal(rule({ container: 'e' }, '10.0.4.7'), 'yes same-network');
    assert.equal(rule({ container: 'b' }, '10.0.3.4'), 'no icc-off');
    assert.equal(reach(topo, { container: 'b' }, '10.0.3.4').network, 'quiet');
  });

  test("another network's address is never reached, even of a container shared elsewhere", () => {
    assert.equal(rule({ container: 'a' }, '10.0.3.3'), 'no isolation'); // b's other address
    assert.equal(rule({ container: 'b' }, '10.0.2.2'), 'no internal'); // a's address on the internal network
    assert.equal(rule({ container: 'e' }, '10.0.1.2'), 'no isolation');
    assert.equal(rule({ container: 'c' }, '10.0.1.3'), 'no isolation');
  });

  test('own addresses on every network, and loopback', () => {
    assert.equal(rule({ container: 'a' }, '10.0.2.2'), 'yes self');
    assert.equal(rule({ container: 'd' }, '127.0.0.1'), 'yes self');
  });

  test('internal only: no default route, only its own gateway', () => {
    assert.equal(rule({ container: 'd' }, '10.0.2.1'), 'yes gateway');
    assert.equal(rule({ container: 'd' }, '10.0.1.1'), 'no no-route');
    assert.equal(rule({ container: 'd' }, '192.0.2.1'), 'no no-route');
    assert.equal(rule({ container: 'd' }, '198.51.100.9'), 'no no-route');
    assert.equal(rule({ container: 'd' }, '10.0.1.2'), 'no no-route');
  });

  test("dockerd 20.10's internal default route: host addresses yes, other containers and the outside no", () => {
    const docker = { internalReachesHost: true };
    assert.equal(reach(topo, { container: 'd' }, '10.0.1.1', docker).reachable, true);
    assert.equal(reach(topo, { container: 'd' }, '192.0.2.1', docker).reachable, true);
    assert.equal(reach(topo, { container: 'd' }, '198.51.100.9', docker).reachable, false);
    assert.equal(reach(topo, { container: 'd' }, '10.0.1.2', docker).reachable, false);
  });

  test('a way out through any non-internal network: host addresses and the outside', () => {
    assert.equal(rule({ container: 'a' }, '10.0.3.1'), 'yes host'); // gateway of a network it is not on
    assert.equal(rule({ container: 'a' }, '10.0.2.1'), 'yes gateway');
    assert.equal(rule({ container: 'c' }, '192.0.2.1'), 'yes host');
    assert.equal(rule({ container: 'c' }, '198.51.100.9'), 'yes outbound');
    assert.equal(rule({ container: 'b' }, '10.0.3.1'), 'yes gateway'); // icc off still reaches its gateway
  });

  test('the host reaches every container; the outside reaches none, but the host addresses', () => {
    for (const m of topo.members) {
      assert.equal(rule('host', m.addresses[0]), 'yes from-host');
      assert.equal(rule('outside', m.addresses[0]), 'no unsolicited');
    }
    assert.equal(rule('outside', '10.0.2.1'), 'yes host');
  });

  test('unassigned addresses, unknown containers, unmodelled drivers', () => {
    assert.equal(rule({ container: 'a' }, '10.0.1.99'), 'no unassigned');
    assert.equal(rule({ container: 'a' }, '10.0.3.99'), 'no unassigned');
    assert.equal(rule({ container: 'nobody' }, '10.0.1.2'), 'no no-route');
    const mv: Topology = { networks: [...topo.networks, net('lan', 9, { driver: 'macvlan' })], members: [...topo.members, { container: 'm', network: 'lan', addresses: ['10.0.9.2'], names: ['m'] }] };
    assert.equal(reach(mv, { container: 'a' }, '10.0.9.2').rule, 'unmodelled');
    assert.equal(reach(mv, { container: 'm' }, '10.0.1.2').rule, 'unmodelled');
  });

  test('owners, and IPv6 addresses in any spelling', () => {
    assert.deepEqual(ownerOf(topo, '10.0.3.3'), { kind: 'container', container: 'b', network: 'quiet' });
    assert.deepEqual(ownerOf(topo, '10.0.3.1'), { kind: 'gateway', network: 'quiet' });
    assert.deepEqual(ownerOf(topo, '192.0.2.1'), { kind: 'host' });
    assert.deepEqual(ownerOf(topo, '10.0.3.200'), { kind: 'subnet', network: 'quiet' });
    assert.deepEqual(ownerOf(topo, '8.8.8.8'), { kind: 'outside' });
    const v6: Topology = {
      networks: [net('six', 6, { gateways: ['fd00:6::1'], subnets: ['fd00:6::/64'] })],
      members: [
        { container: 'x', network: 'six', addresses: ['fd00:6::2'], names: ['x'] },
        { container: 'y', network: 'six', addresses: ['fd00:6:0:0::3'], names: ['y'] },
      ],
    };
    assert.equal(reach(v6, { container: 'x' }, 'fd00:6::0:3').rule, 'same-network');
    assert.equal(reach(v6, { container: 'x' }, 'fd00:0006::1').rule, 'gateway');
    assert.equal(reach(v6, { container: 'x' }, 'fd00:6::99').rule, 'unassigned');
    assert.equal(reach(v6, { container: 'x' }, 'fd00:7::1').rule, 'outbound');
    assert.deepEqual(addressesOf(v6), ['fd00:6::2', 'fd00:6:0:0::3', 'fd00:6::1']);
  });

  test('names: only across a shared user-defined network, answered with the address there', () => {
    assert.deepEqual(resolveName(topo, 'a', 'b'), [{ address: '10.0.1.3', network: 'front' }]);
    assert.deepEqual(resolveName(topo, 'b', 'WEB'), [{ address: '10.0.1.2', network: 'front' }]); // alias, any case
    assert.deepEqual(resolveName(topo, 'd', 'web'), []); // the alias is front's only
    assert.deepEqual(resolveName(topo, 'd', 'a'), [{ address: '10.0.2.2', network: 'back' }]); // internal networks resolve too
    assert.deepEqual(resolveName(topo, 'b', 'c'), [{ address: '10.0.3.4', network: 'quiet' }]); // resolves, though icc is off
    assert.deepEqual(resolveName(topo, 'a', 'c'), []);
    assert.deepEqual(resolveName(topo, 'e', 'e2'), []); // the default bridge has no names
    assert.deepEqual(resolveName(topo, 'a', 'a').map((x) => x.network), ['front', 'back']);
    assert.deepEqual(resolveName(topo, 'a', 'b', 6), []);
  });
});

describe('reachability properties over random topologies', () => {
  const SEEDS = 150;
  const each = (fn: (topo: Topology, phase: number) => void) => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const s = randomScenario(seed, { containers: 7, networks: 4, phases: 2, opsPerPhase: 4 });
      for (let phase = 0; phase <= s.phases.length; phase++) {
        // Addresses as a daemon would give them: one per member, gateways .1.
        const seen: Observed = { addresses: new Map(), gateways: new Map(), host: ['192.0.2.1'] };
        s.networks.forEach((n, i) => seen.gateways.set(n.name, [`10.${i}.0.1`]));
        let k = 2;
        for (const [c, atts] of membership(s, phase)) for (const a of atts) seen.addresses.set(`${c}/${a.network}`, [`10.${s.networks.findIndex((n) => n.name === a.network)}.0.${k++}`]);
        fn(modelOf(s, phase, seen), phase);
      }
    }
  };

  test('a container reaches another address iff it is its own, or both are on that network and it has ICC', () => {
    each((t) => {
      for (const src of t.members) {
        for (const dst of t.members) {
          const n = t.networks.find((x) => x.name === dst.network)!;
          const shares = t.members.some((m) => m.container === src.container && m.network === dst.network);
          const expected = src.container === dst.container || (shares && n.icc);
          assert.equal(reach(t, { container: src.container }, dst.addresses[0]).reachable, expected, `${src.container} -> ${dst.container}@${dst.network}`);
        }
      }
    });
  });

  test('symmetric between containers; the outside never reaches one; the host always does', () => {
    each((t) => {
      for (const a of t.members) {
        assert.equal(reach(t, 'outside', a.addresses[0]).reachable, false);
        assert.equal(reach(t, 'host', a.addresses[0]).reachable, true);
        for (const b of t.members.filter((m) => m.network === a.network)) {
          assert.equal(reach(t, { container: a.container }, b.addresses[0]).reachable, reach(t, { container: b.container }, a.addresses[0]).reachable);
        }
      }
    });
  });

  test('a way out exactly for containers on a non-internal network', () => {
    each((t) => {
      for (const c of new Set(t.members.map((m) => m.container))) {
        const out = t.members.some((m) => m.container === c && !t.networks.find((n) => n.name === m.network)!.internal);
        assert.equal(reach(t, { container: c }, '198.51.100.1').reachable, out, c);
        assert.equal(reach(t, { container: c }, '192.0.2.1').reachable, out, c);
      }
    });
  });

  test('a name resolves iff a user-defined network is shared, to an address the resolver could be on', () => {
    each((t) => {
      const names = new Set(t.members.flatMap((m) => m.names));
      for (const from of new Set(t.members.map((m) => m.container))) {
        for (const name of names) {
          const answers = resolveName(t, from, name);
          const holders = t.members.filter((m) => m.names.includes(name) && t.networks.find((n) => n.name === m.network)!.dns);
          const shared = holders.filter((h) => t.members.some((m) => m.container === from && m.network === h.network));
          assert.deepEqual(answers.map((a) => a.address).sort(), shared.map((h) => h.addresses[0]).sort(), `${from} resolving ${name}`);
        }
      }
    });
  });
});

describe('topologyOfRecords', () => {
  test('from the engine records: ICC from bridge state, gateways only once realized, names as DNS serves them', () => {
    const quiet = networkRecord({ id: testId(1, 'n'), name: 'quiet', ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' }] }, driverState: { bridgeName: 'br-q', icc: 'false' } });
    const idle = networkRecord({ id: testId(2, 'n'), name: 'idle', internal: true, ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.6.0.0/24', Gateway: '10.6.0.1' }] }, driverState: { bridgeName: 'br-i' } });
    const bridge = networkRecord({ id: testId(3, 'n'), name: 'bridge', predefined: true, ipam: { driver: 'default', options: {}, config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] }, driverState: { bridgeName: 'weft0' } });
    const ctr = (n: number, name: string, networkId: string, aliases: string[] = []) =>
      ({ id: testId(n, 'c'), name, networkMode: 'quiet', config: { Hostname: `h${n}` }, networks: [{ networkId, aliases }] }) as unknown as ContainerRecord;
    const c1 = ctr(1, 'one', quiet.id, ['uno']);
    const c2 = ctr(2, 'two', bridge.id);
    const t = topologyOfRecords({
      networks: [quiet, idle, bridge],
      endpoints: [endpointRecord(1, quiet, '10.5.0.2'), endpointRecord(2, bridge, '172.17.0.2')],
      containers: new Map([c1, c2].map((c) => [c.id, c])),
      isRealized: (n) => n.id !== idle.id,
    });
    assert.deepEqual(
      t.networks.map((n) => [n.name, n.icc, n.internal, n.dns, n.gateways]),
      [
        ['quiet', false, false, true, ['10.5.0.1']],
        ['idle', true, true, true, []],
        ['bridge', true, false, false, ['172.17.0.1']],
      ],
    );
    assert.deepEqual(t.members, [
      { container: 'one', network: 'quiet', addresses: ['10.5.0.2'], names: ['one', 'uno', testId(1, 'c').slice(0, 12), 'h1'] },
      { container: 'two', network: 'bridge', addresses: ['172.17.0.2'], names: ['two', testId(2, 'c').slice(0, 12), 'h2'] },
    ]);
    assert.equal(reach(t, { container: 'two' }, '10.5.0.1').rule, 'host');
    assert.equal(reach(t, { container: 'two' }, '10.6.0.1').rule, 'unassigned'); // no bridge yet: not a host address
    // Two networks of one name are told apart by ID.
    const twin = { ...quiet, id: testId(4, 'n') };
    const names = topologyOfRecords({ networks: [quiet, twin], endpoints: [], containers: new Map(), isRealized: () => true }).networks.map((n) => n.name);
    assert.deepEqual(names, [quiet.id, twin.id]);
  });
});
