import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseTableScript, fullTableScript, portElements, type NftPort } from '../../src/kernel/nft.js';
import { listPortsJson, mergeExposedPorts, PortAllocator, portRequests, portsJson, validatePortBindings, createWarnings, HOST_MODE_WARNING } from '../../src/engine/ports.js';
import type { ContainerRecord, EndpointRecord, NetworkRecord, PortMapping } from '../../src/common/model.js';

const container = (exposed: string[], bindings: Record<string, { HostIp?: string; HostPort?: string }[]>, extra: Record<string, unknown> = {}): ContainerRecord =>
  ({
    id: 'c'.repeat(64),
    name: 'web',
    config: { ExposedPorts: Object.fromEntries(exposed.map((k) => [k, {}])) },
    hostConfig: { PortBindings: bindings, ...extra },
    networkMode: 'bridge',
    state: { status: 'running' },
    netnsPath: '/run/x',
  }) as unknown as ContainerRecord;

const net = (hostIp = ''): NetworkRecord => ({ driverState: { hostBindingIpv4: hostIp }, options: {} }) as unknown as NetworkRecord;
const ep = (v6 = false): EndpointRecord => ({ id: 'e'.repeat(64), ipv4: '172.17.0.2/16', ipv6: v6 ? 'fd00::2/64' : '' }) as unknown as EndpointRecord;

test('portRequests: only exposed ports, sorted; PublishAllPorts gives ephemeral ones', () => {
  const c = container(['81/tcp', '53/udp', '80/tcp'], { '80/tcp': [{ HostPort: '8080' }], '9999/tcp': [{ HostPort: '9999' }] }, { PublishAllPorts: true });
  assert.deepEqual(portRequests(c), [
    { proto: 'udp', containerPort: 53, hostIp: '', hostPortStart: 0, hostPortEnd: 0 },
    { proto: 'tcp', containerPort: 80, hostIp: '', hostPortStart: 8080, hostPortEnd: 8080 },
    { proto: 'tcp', containerPort: 81, hostIp: '', hostPortStart: 0, hostPortEnd: 0 },
  ]);
  assert.deepEqual(portRequests(container(['80/tcp'], {})), [], 'exposed without -P is not published');
});

test('allocate: conflicts, wildcard overlap, ranges, ephemeral rotation, v6 pairs', () => {
  const a = new PortAllocator(() => [32768, 32770]);
  const used: PortMapping[] = [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }];
  const req = (hostPortStart: number, hostPortEnd = hostPortStart, hostIp = '', proto: 'tcp' | 'udp' = 'tcp') => [{ proto, containerPort: 80, hostIp, hostPortStart, hostPortEnd }];
  assert.throws(() => a.allocate(container([], {}), net(), ep(), req(8080), used), {
    message: `driver failed programming external connectivity on endpoint web (${'e'.repeat(64)}): Bind for 0.0.0.0:8080 failed: port is already allocated`,
  });
  assert.throws(() => a.allocate(container([], {}), net(), ep(), req(8080, 8080, '10.0.0.1'), used), /Bind for 10\.0\.0\.1:8080 failed/);
  assert.deepEqual(a.allocate(container([], {}), net(), ep(), req(8080, 8080, '', 'udp'), used), [{ proto: 'udp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]);
  assert.equal(a.allocate(container([], {}), net(), ep(), req(8080, 8082), used)[0].hostPort, 8081);
  // Ephemeral: rotates through the range, skipping what is in use, then runs out.
  assert.equal(a.allocate(container([], {}), net(), ep(), req(0), used)[0].hostPort, 32768);
  assert.equal(a.allocate(container([], {}), net(), ep(), req(0), used)[0].hostPort, 32769);
  const full: PortMapping[] = [32768, 32769, 32770].map((p) => ({ proto: 'tcp', containerPort: 1, hostIp: '0.0.0.0', hostPort: p }));
  assert.throws(() => a.allocate(container([], {}), net(), ep(), req(0), full), /all ports are allocated/);
  // Network default address; v6 endpoints get a :: twin on the same port.
  assert.deepEqual(a.allocate(container([], {}), net('127.0.0.1'), ep(true), req(9000), []), [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 9000 }]);
  assert.deepEqual(
    a.allocate(container([], {}), net(), ep(true), req(9000), []).map((m) => m.hostIp),
    ['0.0.0.0', '::'],
  );
  assert.throws(() => a.allocate(container([], {}), net(), ep(false), req(9000, 9000, '::1'), []), /no IPv6 address/);
});

test('create-time validation and warnings use Docker\'s texts', () => {
  assert.throws(() => validatePortBindings({ PortBindings: { 'abc/tcp': [] } }), { message: 'invalid port specification: "abc"' });
  assert.throws(() => validatePortBindings({ PortBindings: { '80/tcp': [{ HostPort: '70000' }] } }), { message: 'invalid port specification: "70000"' });
  validatePortBindings({ PortBindings: { '80/tcp': [{ HostPort: '8000-8010' }, { HostIp: '::1', HostPort: '' }] } });
  const c = container([], { '80/tcp': [{ HostPort: '80' }] });
  assert.deepEqual(createWarnings({ ...c, networkMode: 'host' }, true), [HOST_MODE_WARNING]);
  assert.deepEqual(createWarnings(c, false), []);
  assert.deepEqual(mergeExposedPorts({ '80/tcp': {} }, { '81': {} }), { '80/tcp': {}, '81/tcp': {} });
  assert.equal(mergeExposedPorts(null, undefined), null);
});

test('NetworkSettings.Ports and list Ports in Docker\'s shape', () => {
  const c = container(['80/tcp', '90/tcp'], {});
  const e = { ...ep(), ports: [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }] } as EndpointRecord;
  assert.deepEqual(portsJson(c, [e]), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '90/tcp': null });
  assert.deepEqual(listPortsJson(c, [e]), [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 90, Type: 'tcp' },
  ]);
  assert.deepEqual(portsJson({ ...c, state: { status: 'exited' } } as ContainerRecord, [e]), {});
});

test('nft: published ports are map elements with a fixed rule set', () => {
  const p: NftPort[] = [
    { proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80 },
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: 53, containerIp: '172.17.0.2', containerPort: 53 },
    { proto: 'tcp', hostIp: '::', hostPort: 8080, containerIp: 'fd00::2', containerPort: 80 },
  ];
  assert.deepEqual(portElements(p, 'add'), [
    'add element inet weft pub4 { tcp . 8080 : 172.17.0.2 . 80 }',
    'add element inet weft hairpin4 { 172.17.0.2 . 172.17.0.2 . tcp . 80 }',
    'add element inet weft pub4ip { 127.0.0.1 . udp . 53 : 172.17.0.2 . 53 }',
    'add element inet weft hairpin4 { 172.17.0.2 . 172.17.0.2 . udp . 53 }',
    'add element inet weft pub6 { tcp . 8080 : fd00::2 . 80 }',
    'add element inet weft hairpin6 { fd00::2 . fd00::2 . tcp . 80 }',
  ]);
  const del = portElements([p[0], { ...p[0], hostPort: 8081 }], 'delete');
  assert.equal(del.filter((l) => l.startsWith('delete element inet weft hairpin4')).length, 1, 'shared hairpin element deleted once');
  assert.ok(del.includes('delete element inet weft pub4 { tcp . 8081 }'));
  assert.throws(() => portElements([{ ...p[0], proto: 'icmp' as 'tcp' }], 'add'), /invalid protocol/);
  assert.throws(() => portElements([{ ...p[0], containerIp: '1.2.3.4; flush ruleset' }], 'add'), /invalid address/);
  const base = baseTableScript();
  for (const m of ['pub4', 'pub4ip', 'pub6', 'pub6ip']) assert.match(base, new RegExp(`add map inet weft ${m} \\{[^}]+\\}\\nflush map inet weft ${m}\\n`));
  assert.match(base, /add rule inet weft prerouting fib daddr type local jump published/);
  assert.match(base, /add rule inet weft output fib daddr type local jump published/);
  assert.match(base, /add rule inet weft guard iifname != "lo" ip daddr 127\.0\.0\.0\/8 drop/);
  const rules = (s: string) => s.split('\n').filter((l) => l.startsWith('add rule')).length;
  assert.equal(rules(fullTableScript([], p)), rules(base));
});
