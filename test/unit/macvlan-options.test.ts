import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointRecord, NetworkRecord } from '../../src/common/model.js';
import { WeftError } from '../../src/common/errors.js';
import { cidrContains, configOf, dummyName, macvlanState, parseMacvlanOptions, shimName, vlanPlan } from '../../src/drivers/macvlan/options.js';
import { dummySteps, joinHostSteps, ownerAlias, shimSteps, shimRouteDestinations, vlanSteps } from '../../src/drivers/macvlan/commands.js';
import { ipLines } from '../../src/kernel/render.js';
import type { Step } from '../../src/kernel/types.js';

// The plans as the command path's `ip -batch` lines.
const lines = (steps: Step[]) => steps.flatMap(ipLines);
import { unsupportedDriverError } from '../../src/drivers/macvlan/unsupported.js';
import { networkRecord } from '../helpers/records.js';

const ID = 'a1b2c3d4e5f6'.padEnd(64, '0');
const OTHER = 'ffeeddccbbaa'.padEnd(64, '1');

function netRecord(over: Partial<NetworkRecord> = {}): NetworkRecord {
  const base = networkRecord({
    id: ID,
    name: 'mv',
    driver: 'macvlan',
    ipam: { driver: 'default', options: {}, config: [{ Subnet: '192.168.50.0/24', Gateway: '192.168.50.1' }] },
    options: { parent: 'eth0' },
  });
  return { ...base, ...over } as NetworkRecord;
}

const endpoint = (over: Partial<EndpointRecord> = {}): EndpointRecord => ({
  id: 'e'.repeat(64),
  networkId: ID,
  containerId: 'c'.repeat(64),
  ifname: 'eth0',
  hostIfname: 'veth1234567',
  ipv4: '192.168.50.2/24',
  ipv6: '',
  gateway4: '192.168.50.1',
  gateway6: '',
  mac: '02:42:c0:a8:32:02',
  aliases: [],
  requestedIpv4: '',
  requestedIpv6: '',
  ...over,
});

const invalidWith = (text: string | RegExp) => (err: unknown) =>
  err instanceof WeftError && err.kind === 'InvalidParameter' && (typeof text === 'string' ? err.message === text : text.test(err.message));

test('macvlan: defaults are bridge mode on the given parent, no shim', () => {
  const cfg = parseMacvlanOptions(netRecord(), []);
  assert.deepEqual(cfg, { parent: 'eth0', mode: 'bridge', dummyParent: false, hostShim: '', shimName: '' });
  assert.deepEqual(configOf(netRecord({ driverState: macvlanState(cfg) })), cfg);
  assert.equal(configOf(netRecord({ driverState: {} })), null);
});

test('macvlan: every Docker mode is accepted; anything else with Docker\'s text', () => {
  for (const mode of ['bridge', 'private', 'vepa', 'passthru']) {
    assert.equal(parseMacvlanOptions(netRecord({ options: { parent: 'eth0', macvlan_mode: mode } }), []).mode, mode);
  }
  assert.equal(parseMacvlanOptions(netRecord({ options: { parent: 'eth0', macvlan_mode: '' } }), []).mode, 'bridge');
  assert.throws(
    () => parseMacvlanOptions(netRecord({ options: { parent: 'eth0', macvlan_mode: 'l3' } }), []),
    invalidWith("requested macvlan mode 'l3' is not valid, 'bridge' mode is the macvlan driver default"),
  );
});

test('macvlan: lo is refused, unknown options are ignored, a v4 pool is required', () => {
  assert.throws(() => parseMacvlanOptions(netRecord({ options: { parent: 'lo' } }), []), invalidWith('loopback interface is not a valid macvlan parent link'));
  assert.equal(parseMacvlanOptions(netRecord({ options: { parent: 'eth0', whatever: '1' } }), []).parent, 'eth0');
  assert.throws(() => parseMacvlanOptions(netRecord({ ipam: { driver: 'null', options: {}, config: [] } }), []), invalidWith('ipv4 pool is empty'));
  assert.throws(() => parseMacvlanOptions(netRecord({ options: { parent: 'a b' } }), []), invalidWith(/invalid parent interface name/));
});

test('macvlan: no parent means Docker\'s dummy dm-<12 hex>', () => {
  const cfg = parseMacvlanOptions(netRecord({ options: {} }), []);
  assert.equal(cfg.parent, `dm-${ID.slice(0, 12)}`);
  assert.equal(cfg.parent, dummyName(ID));
  assert.equal(cfg.dummyParent, true);
  assert.deepEqual(lines(dummySteps(cfg.parent)), [`link add dm-a1b2c3d4e5f6 type dummy`, `link set dm-a1b2c3d4e5f6 up`]);
});

test('macvlan: a parent used by another macvlan network is refused with Docker\'s text', () => {
  const other = netRecord({ id: OTHER, name: 'other', driverState: { parent: 'eth0', mode: 'bridge' } });
  assert.throws(
    () => parseMacvlanOptions(netRecord(), [other]),
    (err: unknown) => err instanceof WeftError && err.message === `network dm-ffeeddccbbaa is already using parent interface eth0`,
  );
  // Another driver's state or the network itself does not count.
  assert.doesNotThrow(() => parseMacvlanOptions(netRecord(), [{ ...other, driver: 'bridge' }, netRecord({ driverState: { parent: 'eth0' } })]));
  assert.doesNotThrow(() => parseMacvlanOptions(netRecord({ options: { parent: 'eth1' } }), [other]));
});

test('macvlan: host shim needs an address in the subnet that no container can get', () => {
  const aux = { driver: 'default', options: {}, config: [{ Subnet: '192.168.50.0/24', Gateway: '192.168.50.1', AuxiliaryAddresses: { host: '192.168.50.254' } }] };
  const cfg = parseMacvlanOptions(netRecord({ ipam: aux, options: { parent: 'eth0', 'weft.macvlan.host_shim': '192.168.50.254/24' } }), []);
  assert.equal(cfg.hostShim, '192.168.50.254/24');
  assert.equal(cfg.shimName, `mvs-${ID.slice(0, 11)}`);
  assert.equal(cfg.shimName.length, 15);
  assert.equal(shimName(ID), cfg.shimName);
  // Outside --ip-range is fine too.
  const ranged = { driver: 'default', options: {}, config: [{ Subnet: '192.168.50.0/24', Gateway: '192.168.50.1', IPRange: '192.168.50.128/25' }] };
  assert.equal(parseMacvlanOptions(netRecord({ ipam: ranged, options: { parent: 'eth0', 'weft.macvlan.host_shim': '192.168.50.10/24' } }), []).hostShim, '192.168.50.10/24');

  const shim = (v: string, over: Partial<NetworkRecord> = {}) => () =>
    parseMacvlanOptions(netRecord({ ipam: aux, ...over, options: { parent: 'eth0', ...(over.options ?? {}), 'weft.macvlan.host_shim': v } }), []);
  assert.throws(shim('192.168.50.254'), invalidWith(/want an IPv4 address with a prefix length/));
  assert.throws(shim('300.1.1.1/24'), invalidWith(/want an IPv4 address/));
  assert.throws(shim('10.9.9.9/24'), invalidWith(/is not in the network's IPv4 subnets/));
  assert.throws(shim('192.168.50.1/24'), invalidWith(/is the network's gateway/));
  assert.throws(shim('192.168.50.77/24'), invalidWith('invalid weft.macvlan.host_shim value "192.168.50.77/24": 192.168.50.77 could be given to a container: reserve it with --aux-address host=192.168.50.77 (or pick one outside --ip-range)'));
  assert.throws(shim('192.168.50.254/24', { options: { macvlan_mode: 'private' } }), invalidWith(/only reaches containers in macvlan_mode bridge/));
  assert.throws(() => parseMacvlanOptions(netRecord({ ipam: aux, options: { 'weft.macvlan.host_shim': '192.168.50.254/24' } }), []), invalidWith(/needs -o parent/));
});

test('macvlan: cidrContains', () => {
  assert.ok(cidrContains('10.0.0.0/8', '10.255.1.2'));
  assert.ok(!cidrContains('10.0.0.0/8', '11.0.0.0'));
  assert.ok(cidrContains('192.168.50.128/25', '192.168.50.128'));
  assert.ok(!cidrContains('192.168.50.128/25', '192.168.50.127'));
  assert.ok(cidrContains('0.0.0.0/0', '1.2.3.4'));
  assert.ok(cidrContains('1.2.3.4/32', '1.2.3.4'));
});

test('macvlan: VLAN parents are read as Docker reads them', () => {
  const exists = (n: string) => n === 'eth0';
  assert.deepEqual(vlanPlan('eth0.50', exists), { link: 'eth0', id: 50, name: 'eth0.50' });
  assert.throws(() => vlanPlan('eth9', exists), invalidWith('invalid subinterface vlan name eth9, example formatting is eth0.10'));
  assert.throws(() => vlanPlan('eth0.1.2', exists), invalidWith('required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received eth0.1.2'));
  assert.throws(() => vlanPlan('eth0.x', exists), invalidWith('unable to parse a valid vlan id from: x (ex. eth0.10 for vlan 10)'));
  assert.throws(() => vlanPlan('eth9.10', exists), invalidWith('-o parent interface does was not found on the host: eth9'));
  assert.throws(() => vlanPlan('eth0.4095', exists), invalidWith('vlan id must be between 1-4094, received: 4095'));
  assert.throws(() => vlanPlan('eth0.0', exists), invalidWith('vlan id must be between 1-4094, received: 0'));
});

test('macvlan: VLAN commands create, mark as weft\'s and bring up the sub-interface', () => {
  assert.deepEqual(lines(vlanSteps({ link: 'eth0', id: 50, name: 'eth0.50' }, ID)), [
    'link add link eth0 name eth0.50 type vlan id 50',
    'link set eth0.50 alias weft-macvlan:a1b2c3d4e5f6',
    'link set eth0.50 up',
  ]);
  assert.equal(ownerAlias(ID), 'weft-macvlan:a1b2c3d4e5f6');
});

test('macvlan: join is one step creating the port in the sandbox under its final name and MAC', () => {
  const cfg = parseMacvlanOptions(netRecord({ options: { parent: 'eth0', macvlan_mode: 'vepa' } }), []);
  assert.deepEqual(lines(joinHostSteps(cfg, endpoint(), '/run/weft/netns/abc')), [
    'link add link eth0 name eth0 netns /run/weft/netns/abc address 02:42:c0:a8:32:02 type macvlan mode vepa',
  ]);
  assert.deepEqual(lines(joinHostSteps(cfg, endpoint({ mac: '', ifname: 'eth1' }), '/n')), ['link add link eth0 name eth1 netns /n type macvlan mode vepa']);
  assert.throws(() => lines(joinHostSteps(cfg, endpoint(), '/path with space')), /unsafe namespace path/, 'a batch line cannot carry it');
});

test('macvlan: shim commands make a bridge-mode macvlan with the address and routes to the containers', () => {
  const ipam = { driver: 'default', options: {}, config: [{ Subnet: '192.168.50.0/24', Gateway: '192.168.50.1', IPRange: '192.168.50.128/25' }] };
  const net = netRecord({ ipam, options: { parent: 'eth0', 'weft.macvlan.host_shim': '192.168.50.10/24' } });
  const cfg = parseMacvlanOptions(net, []);
  assert.deepEqual(shimRouteDestinations(net), ['192.168.50.128/25']);
  assert.deepEqual(lines(shimSteps(net, cfg)), [
    'link add link eth0 name mvs-a1b2c3d4e5f address 02:42:c0:a8:32:0a type macvlan mode bridge',
    'addr replace 192.168.50.10/24 dev mvs-a1b2c3d4e5f noprefixroute',
    'link set mvs-a1b2c3d4e5f up',
    'route add 192.168.50.128/25 dev mvs-a1b2c3d4e5f src 192.168.50.10',
  ]);
  assert.equal(lines(shimSteps(net, cfg, false))[0], 'addr replace 192.168.50.10/24 dev mvs-a1b2c3d4e5f noprefixroute');
  assert.deepEqual(shimSteps(net, cfg, false).at(-1)?.tolerate, 'exists', 're-asserted routes may be there already');
  assert.deepEqual(shimRouteDestinations(netRecord()), ['192.168.50.0/24']);
});

test('unsupportedDriverError: ipvlan names the missing module, other names are not ours', () => {
  const lacking = unsupportedDriverError('ipvlan', () => false);
  assert.ok(lacking instanceof WeftError);
  assert.equal(lacking.kind, 'NotImplemented');
  assert.match(lacking.message, /^weft cannot create ipvlan networks: this kernel \(.*\) lacks the 'ipvlan' module/);
  assert.match(unsupportedDriverError('ipvlan', () => true)!.message, /does not implement the ipvlan driver/);
  assert.equal(unsupportedDriverError('overlay', () => false), null);
  assert.equal(unsupportedDriverError('bridge'), null);
});
