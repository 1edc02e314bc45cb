import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { DEFAULT_IMAGE_SEED_DIR, parseDaemonArgs } from '../../src/daemon/config.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: unknown): string {
  const p = join(dir, `daemon${n++}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}
const missing = join(dir, 'nope.json');
const parse = (...args: string[]) => parseDaemonArgs(args);

test('defaults (missing default config file is fine)', () => {
  const c = parse('--config-file', file({}));
  assert.deepEqual(c.hosts, ['unix:///run/weft/weft.sock']);
  assert.equal(c.host, 'unix:///run/weft/weft.sock');
  assert.equal(c.dataRoot, '/var/lib/weft');
  assert.equal(c.execRoot, '/run/weft');
  assert.equal(c.bridge, 'weft0');
  assert.equal(c.bip, undefined);
  assert.equal(c.fixedCidr, undefined);
  assert.equal(c.mtu, 1500);
  assert.equal(c.defaultAddressPools, undefined);
  assert.deepEqual(c.dns, []);
  assert.equal(c.ipv6, false);
  assert.equal(c.icc, true);
  assert.equal(c.ipMasq, true);
  assert.equal(c.iptables, true);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.imageSeedDir, DEFAULT_IMAGE_SEED_DIR);
  assert.match(DEFAULT_IMAGE_SEED_DIR, /\/images$/);
  assert.equal(parseDaemonArgs([]).configFile, '/etc/weft/daemon.json');
});

test('flags', () => {
  const c = parse(
    '--config-file', file({}),
    '-H', 'unix:///tmp/a.sock', '--host=unix:///tmp/b.sock',
    '--data-root', '/tmp/d', '--exec-root', '/tmp/e',
    '-b', 'br9', '--bip', '10.1.0.1/16', '--fixed-cidr', '10.1.1.0/24', '--fixed-cidr-v6', 'fd00::/64',
    '--mtu', '1400',
    '--default-address-pool', 'base=10.10.0.0/16,size=24', '--default-address-pool', 'base=10.20.0.0/16,size=24',
    '--dns', '1.1.1.1', '--dns', '8.8.8.8',
    '--ipv6', '--icc=false', '--ip-masq', 'false', '--iptables=0',
    '--log-level', 'debug', '--image-seed-dir', '/tmp/img',
  );
  assert.deepEqual(c.hosts, ['unix:///tmp/a.sock', 'unix:///tmp/b.sock']);
  assert.equal(c.host, 'unix:///tmp/a.sock');
  assert.equal(c.dataRoot, '/tmp/d');
  assert.equal(c.execRoot, '/tmp/e');
  assert.equal(c.bridge, 'br9');
  assert.equal(c.bip, '10.1.0.1/16');
  assert.equal(c.fixedCidr, '10.1.1.0/24');
  assert.equal(c.fixedCidrV6, 'fd00::/64');
  assert.equal(c.mtu, 1400);
  assert.deepEqual(c.defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }, { base: '10.20.0.0/16', size: 24 }]);
  assert.deepEqual(c.dns, ['1.1.1.1', '8.8.8.8']);
  assert.equal(c.ipv6, true);
  assert.equal(c.icc, false);
  assert.equal(c.ipMasq, false);
  assert.equal(c.iptables, false);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.imageSeedDir, '/tmp/img');
});

test('--bridge and --bridge-name are the same option', () => {
  assert.equal(parse('--config-file', file({}), '--bridge', 'x0').bridge, 'x0');
  assert.equal(parse('--config-file', file({}), '--bridge-name', 'y0').bridge, 'y0');
  assert.equal(parse('--config-file', file({}), '--bridge', 'z0', '--bridge-name', 'z0').bridge, 'z0');
  assert.throws(() => parse('--config-file', file({}), '--bridge', 'a0', '--bridge-name', 'b0'), /conflicting options/);
});

test('file values are used when no flag sets them', () => {
  const c = parse(
    '--config-file',
    file({
      hosts: ['unix:///tmp/f.sock'],
      'data-root': '/srv/weft',
      'exec-root': '/run/w2',
      bridge: 'fb0',
      bip: '172.30.0.1/16',
      'fixed-cidr': '172.30.5.0/24',
      'fixed-cidr-v6': 'fd01::/64',
      mtu: 9000,
      'default-address-pools': [{ base: '10.50.0.0/16', size: 24 }],
      dns: ['9.9.9.9'],
      ipv6: true,
      icc: false,
      'ip-masq': false,
      iptables: false,
      'log-level': 'warn',
    }),
  );
  assert.deepEqual(c.hosts, ['unix:///tmp/f.sock']);
  assert.equal(c.dataRoot, '/srv/weft');
  assert.equal(c.execRoot, '/run/w2');
  assert.equal(c.bridge, 'fb0');
  assert.equal(c.bip, '172.30.0.1/16');
  assert.equal(c.fixedCidr, '172.30.5.0/24');
  assert.equal(c.fixedCidrV6, 'fd01::/64');
  assert.equal(c.mtu, 9000);
  assert.deepEqual(c.defaultAddressPools, [{ base: '10.50.0.0/16', size: 24 }]);
  assert.deepEqual(c.dns, ['9.9.9.9']);
  assert.equal(c.ipv6, true);
  assert.equal(c.icc, false);
  assert.equal(c.ipMasq, false);
  assert.equal(c.iptables, false);
  assert.equal(c.logLevel, 'warn');
});

test('flags and file combine when they set different keys', () => {
  const c = parse('--config-file', file({ mtu: 1450, dns: ['1.0.0.1'] }), '--bip', '10.3.0.1/24', '--icc=false');
  assert.equal(c.mtu, 1450);
  assert.deepEqual(c.dns, ['1.0.0.1']);
  assert.equal(c.bip, '10.3.0.1/24');
  assert.equal(c.icc, false);
});

test('a key set by a flag and by the file is an error, as in dockerd', () => {
  const f = file({ bip: '172.20.0.1/16' });
  assert.throws(() => parse('--config-file', f, '--bip', '10.0.0.1/16'), {
    message: `unable to configure the weft daemon with file ${f}: the following directives are specified both as a flag and in the configuration file: bip: (from flag: 10.0.0.1/16, from file: 172.20.0.1/16)`,
  });
  const g = file({ hosts: ['unix:///a.sock'], icc: true, mtu: 1400, bridge: 'b1', 'default-address-pools': [{ base: '10.0.0.0/8', size: 24 }] });
  assert.throws(
    () =>
      parse('--config-file', g, '--mtu', '1500', '-H', 'unix:///b.sock', '--icc=false', '-b', 'b2', '--default-address-pool', 'base=10.1.0.0/16,size=24'),
    {
      message:
        `unable to configure the weft daemon with file ${g}: the following directives are specified both as a flag and in the configuration file: ` +
        'bridge: (from flag: b2, from file: b1), default-address-pools: (from flag: 10.1.0.0/16 24, from file: [map[base:10.0.0.0/8 size:24]]), ' +
        'hosts: (from flag: [unix:///b.sock], from file: [unix:///a.sock]), icc: (from flag: false, from file: true), mtu: (from flag: 1500, from file: 1400)',
    },
  );
});

test('unknown keys in the file are refused', () => {
  const f = file({ bip: '172.20.0.1/16', 'registry-mirrors': [], foo: 1 });
  assert.throws(() => parse('--config-file', f), {
    message: `unable to configure the weft daemon with file ${f}: the following directives don't match any configuration option: foo, registry-mirrors`,
  });
});

test('config file errors', () => {
  assert.throws(() => parse('--config-file', missing), /open .*nope\.json: no such file or directory/);
  assert.throws(() => parse('--config-file', file('{not json')), /unable to configure the weft daemon with file .*invalid JSON/);
  assert.throws(() => parse('--config-file', file('[1]')), /must be a JSON object/);
  assert.equal(parse('--config-file', file('')).mtu, 1500);
});

test('file value types are checked and named', () => {
  const f = file({ mtu: '1500' });
  assert.throws(() => parse('--config-file', f), { message: `invalid value for "mtu" in ${f}: expected an integer, got "1500"` });
  assert.throws(() => parse('--config-file', file({ icc: 'no' })), /invalid value for "icc" .*expected true or false/);
  assert.throws(() => parse('--config-file', file({ dns: '1.1.1.1' })), /invalid value for "dns" .*array of strings/);
  assert.throws(() => parse('--config-file', file({ 'default-address-pools': [{ base: '10.0.0.0/8' }] })), /invalid value for "default-address-pools"/);
  assert.throws(() => parse('--config-file', file({ 'default-address-pools': [{ base: '10.0.0.0/8', size: 24, x: 1 }] })), /"default-address-pools"/);
});

test('value validation names the key', () => {
  const f = file({});
  assert.throws(() => parse('--config-file', f, '--bip', '10.0.0.1'), { message: 'invalid bip "10.0.0.1": invalid CIDR address: 10.0.0.1' });
  assert.throws(() => parse('--config-file', f, '--bip', 'fd00::1/64'), /invalid bip "fd00::1\/64": not an IPv4 CIDR/);
  assert.throws(() => parse('--config-file', f, '--fixed-cidr', 'x'), /invalid fixed-cidr "x"/);
  assert.throws(() => parse('--config-file', f, '--fixed-cidr-v6', '10.0.0.0/8'), /invalid fixed-cidr-v6/);
  assert.throws(() => parse('--config-file', f, '--mtu', 'big'), /invalid mtu "big"/);
  assert.throws(() => parse('--config-file', f, '--mtu', '20'), /invalid mtu 20/);
  assert.equal(parse('--config-file', f, '--mtu', '0').mtu, 1500);
  assert.throws(() => parse('--config-file', f, '--dns', '1.1.1'), { message: 'invalid dns "1.1.1": IP address is not correctly formatted: 1.1.1' });
  assert.throws(() => parse('--config-file', f, '--log-level', 'loud'), /invalid log-level "loud": unable to parse logging level: loud/);
  assert.equal(parse('--config-file', f, '--log-level', 'warning').logLevel, 'warn');
  assert.throws(() => parse('--config-file', f, '-H', 'tcp://0.0.0.0:2375'), /invalid hosts "tcp:\/\/0.0.0.0:2375"/);
  assert.throws(() => parse('--config-file', f, '-b', 'a-very-long-bridge-name'), /invalid bridge/);
  assert.throws(() => parse('--config-file', f, '--icc=maybe'), {
    message: 'invalid argument "maybe" for "--icc" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  });
  assert.throws(() => parse('--config-file', f, '--default-address-pool', 'base=10.0.0.0/16,size=8'), {
    message: 'invalid default-address-pools: invalid pools size: 8',
  });
  assert.throws(() => parse('--config-file', file({ 'default-address-pools': [{ base: '10.0.0.0/33', size: 24 }] })), {
    message: 'invalid default-address-pools: invalid base pool "10.0.0.0/33": invalid CIDR address: 10.0.0.0/33',
  });
  assert.throws(() => parse('--config-file', f, '--no-such-flag'), /unknown option '--no-such-flag'/);
  assert.throws(() => parse('--config-file', f, 'extra'), /too many arguments/);
});

test('--help surfaces as a CommanderError with exit code 0', () => {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    assert.throws(() => parse('--help'), (e: unknown) => e instanceof CommanderError && e.exitCode === 0);
  } finally {
    process.stdout.write = write;
  }
});
