import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { WeftError } from '../../src/common/errors.js';
import { macFromIPv4, macFromNetworkId } from '../../src/common/mac.js';
import { bridgeState, configOf, nftNetworkOf, parseBridgeOptions } from '../../src/drivers/bridge/options.js';
import { bridgeUpSteps, gatewayCidrs, joinHostSteps, leaveSteps, vethName } from '../../src/drivers/bridge/commands.js';
import { sandboxSteps } from '../../src/drivers/plumbing.js';
import { ipLines } from '../../src/kernel/render.js';
import type { Step } from '../../src/kernel/types.js';
import { HostDriver } from '../../src/drivers/host/index.js';
import { NullDriver } from '../../src/drivers/null/index.js';
import { networkRecord } from '../helpers/records.js';

function netRecord(over: Partial<NetworkRecord> = {}): NetworkRecord {
  // Spread into a non-literal and assert: the record grows fields other teams own.
  const base = networkRecord({
    id: 'a1b2c3d4e5f6'.padEnd(64, '0'),
    name: 'n1',
    ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.231.1.0/24', Gateway: '10.231.1.1' }] },
  });
  return { ...base, ...over } as NetworkRecord;
}

const invalidWith = (text: string) => (err: unknown) => err instanceof WeftError && err.kind === 'InvalidParameter' && err.message === text;

test('macFromIPv4 follows Docker', () => {
  assert.equal(macFromIPv4('172.17.0.2'), '02:42:ac:11:00:02');
  assert.equal(macFromIPv4('10.231.1.255/24'), '02:42:0a:e7:01:ff');
  assert.throws(() => macFromIPv4('1.2.3'));
  assert.throws(() => macFromIPv4('1.2.3.256'));
  assert.equal(macFromNetworkId('deadbeef00'), '02:43:de:ad:be:ef');
});

test('defaults', () => {
  const cfg = parseBridgeOptions(netRecord(), []);
  assert.deepEqual(bridgeState(cfg), {
    bridgeName: 'br-a1b2c3d4e5f6',
    mtu: '1500',
    icc: 'true',
    masquerade: 'true',
    hostBindingIpv4: '',
    defaultBridge: 'false',
  });
});

test('options parsed like Docker', () => {
  const cfg = parseBridgeOptions(
    netRecord({
      options: {
        'com.docker.network.bridge.name': 'weft0',
        'com.docker.network.driver.mtu': '1400',
        'com.docker.network.bridge.enable_icc': 'False',
        'com.docker.network.bridge.enable_ip_masquerade': '0',
        'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
        'com.docker.network.bridge.default_bridge': 'true',
        'some.unknown.option': 'kept',
      },
    }),
    [],
  );
  assert.deepEqual(cfg, { bridgeName: 'weft0', mtu: 1400, icc: false, masquerade: false, hostBindingIpv4: '127.0.0.1', defaultBridge: true });
  assert.deepEqual(configOf(netRecord({ driverState: bridgeState(cfg) })), cfg);
  assert.equal(configOf(netRecord()), null);
});

test('invalid option values give Docker-like errors', () => {
  const p = (k: string, v: string) => () => parseBridgeOptions(netRecord({ options: { [k]: v } }), []);
  assert.throws(
    p('com.docker.network.driver.mtu', 'abc'),
    invalidWith('failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)'),
  );
  assert.throws(p('com.docker.network.driver.mtu', '-1'), invalidWith('invalid MTU number: -1'));
  assert.throws(p('com.docker.network.driver.mtu', '70000'), invalidWith('invalid MTU number: 70000'));
  assert.throws(
    p('com.docker.network.bridge.enable_icc', 'yes'),
    invalidWith('failed to parse com.docker.network.bridge.enable_icc value: yes (strconv.ParseBool: parsing "yes": invalid syntax)'),
  );
  assert.throws(
    p('com.docker.network.bridge.host_binding_ipv4', 'nope'),
    invalidWith('failed to parse com.docker.network.bridge.host_binding_ipv4 value: nope (nil ip)'),
  );
  assert.throws(p('com.docker.network.bridge.name', 'this-name-is-too-long'), (e: unknown) => e instanceof WeftError && e.kind === 'InvalidParameter');
  assert.throws(p('com.docker.network.bridge.name', 'a b'), (e: unknown) => e instanceof WeftError && e.kind === 'InvalidParameter');
  assert.equal(parseBridgeOptions(netRecord({ options: { 'com.docker.network.driver.mtu': '0' } }), []).mtu, 1500);
});

test('a bridge name used by another network is refused', () => {
  const other = netRecord({ id: 'f'.repeat(64), name: 'other', driverState: { bridgeName: 'weft0' } });
  const mine = netRecord({ options: { 'com.docker.network.bridge.name': 'weft0' } });
  assert.throws(
    () => parseBridgeOptions(mine, [other]),
    (e: unknown) => e instanceof WeftError && e.kind === 'Forbidden' && /networks have same bridge name$/.test(e.message),
  );
  // same network (re-prepare) and other drivers do not conflict
  assert.doesNotThrow(() => parseBridgeOptions(mine, [{ ...other, id: mine.id }]));
  assert.doesNotThrow(() => parseBridgeOptions(mine, [{ ...other, driver: 'macvlan' }]));
});

const ep = (over: Partial<EndpointRecord> = {}): EndpointRecord => ({
  id: '1234567abc'.padEnd(64, '0'),
  networkId: 'n',
  containerId: 'c',
  ifname: 'eth0',
  hostIfname: '',
  ipv4: '10.231.1.2/24',
  ipv6: '',
  gateway4: '10.231.1.1',
  gateway6: '',
  mac: '02:42:0a:e7:01:02',
  aliases: [],
  requestedIpv4: '',
  requestedIpv6: '',
  ...over,
});

// The plans as the command path's `ip -batch` lines (the text weft ran before the agent).
const lines = (steps: Step[]) => steps.flatMap(ipLines);

test('bridge plans, as ip batch lines', () => {
  const net = netRecord({
    enableIPv6: true,
    ipam: { driver: 'default', options: {}, config: [{ Subnet: '10.231.1.0/24', Gateway: '10.231.1.1' }, { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' }] },
  });
  const cfg = parseBridgeOptions(net, []);
  assert.deepEqual(gatewayCidrs(net), { v4: ['10.231.1.1/24'], v6: ['fd00:1::1/64'] });
  assert.deepEqual(gatewayCidrs({ ...net, enableIPv6: false }).v6, []);
  assert.deepEqual(lines(bridgeUpSteps(net, cfg)), [
    'link add br-a1b2c3d4e5f6 type bridge',
    'link set br-a1b2c3d4e5f6 address 02:43:a1:b2:c3:d4 mtu 1500 up',
    'addr replace 10.231.1.1/24 brd + dev br-a1b2c3d4e5f6',
    'addr replace fd00:1::1/64 dev br-a1b2c3d4e5f6 nodad',
  ]);
  assert.equal(vethName(ep()), 'veth1234567');
  assert.equal(vethName(ep({ hostIfname: 'vethabcdef0' })), 'vethabcdef0');
  assert.deepEqual(lines(joinHostSteps(cfg, ep(), '/run/weft/netns/x')), [
    'link del veth1234567',
    'link add veth1234567 mtu 1500 type veth peer name eth0 mtu 1500 address 02:42:0a:e7:01:02 netns /run/weft/netns/x',
    'link set veth1234567 master br-a1b2c3d4e5f6 up',
  ]);
  assert.ok(sandboxSteps(ep(), true, '/n').every((s) => 'ns' in s && s.ns === '/n'), 'the sandbox side runs in the sandbox');
  assert.deepEqual(lines(sandboxSteps(ep(), true, '/n')), [
    'addr replace 10.231.1.2/24 brd + dev eth0',
    'link set eth0 up',
    'route replace default via 10.231.1.1 dev eth0',
  ]);
  assert.deepEqual(lines(sandboxSteps(ep({ ifname: 'eth1', ipv6: 'fd00:1::2/64', gateway6: 'fd00:1::1' }), false, '/n')), [
    'addr replace 10.231.1.2/24 brd + dev eth1',
    'addr replace fd00:1::2/64 dev eth1 nodad',
    'link set eth1 up',
  ]);
  assert.deepEqual(lines(joinHostSteps(cfg, ep({ ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerPort: 80 }] } as Partial<EndpointRecord>), '/n')).slice(-2), [
    'link set veth1234567 master br-a1b2c3d4e5f6 up',
    'link set veth1234567 type bridge_slave hairpin on',
  ]);
  assert.deepEqual(lines(leaveSteps(ep(), '/n')), ['link set veth1234567 down nomaster', 'link set eth0 down', 'link set eth0 name z1234567']);
  assert.deepEqual(lines(leaveSteps(ep(), null)), ['link set veth1234567 down nomaster']);
  assert.deepEqual(nftNetworkOf(net, cfg).subnets6, ['fd00:1::/64']);
});

test('host and null drivers', async () => {
  const host = new HostDriver();
  assert.equal(host.name, 'host');
  assert.deepEqual(await host.prepareNetwork(netRecord({ driver: 'host' }), []), {});
  await assert.rejects(host.prepareNetwork(netRecord({ driver: 'host', options: { foo: 'bar' } }), []), (e: unknown) => e instanceof WeftError && e.kind === 'InvalidParameter');
  await host.join(netRecord(), ep(), '/nowhere', { defaultRoute: true });
  await host.leave(netRecord(), ep(), null);
  const none = new NullDriver();
  assert.equal(none.name, 'null');
  await none.join(netRecord(), ep(), '/nowhere', { defaultRoute: true });
  await none.leave(netRecord(), ep(), null);
});
