import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { parseFilters, parseKeyValues } from '../../src/cli/cli-util.js';
import { parseSince } from '../../src/cli/commands/exec.js';
import { buildIpamConfig } from '../../src/cli/commands/network-ipam.js';
import { splitRepoTag } from '../../src/cli/commands/image.js';
import { addRunFlags, createBody, parsePublish, type RunFlags } from '../../src/cli/commands/run-opts.js';
import { buildProgram } from '../../src/cli/main.js';

function parseRun(argv: string[]): { args: string[]; flags: RunFlags } {
  let got: { args: string[]; flags: RunFlags } | undefined;
  const c = addRunFlags(new Command('run'), true).action((args: string[], flags: RunFlags) => {
    got = { args, flags };
  });
  c.parse(argv, { from: 'user' });
  return got!;
}

test('run flags: combined shorts, repeatables, and command args after the image', () => {
  const { args, flags } = parseRun(['-dit', '--name', 'x', '--net', 'n1', '-e', 'A=1', '-e', 'B=2', '-h', 'hh', '-p', '80', 'alpine', 'sh', '-c', 'ls -l']);
  assert.deepEqual(args, ['alpine', 'sh', '-c', 'ls -l']);
  assert.equal(flags.detach && flags.interactive && flags.tty, true);
  assert.deepEqual(flags.env, ['A=1', 'B=2']);
  const body = createBody(args[0], args.slice(1), flags) as Record<string, any>;
  assert.equal(body.Hostname, 'hh');
  assert.equal(body.HostConfig.NetworkMode, 'n1');
  assert.deepEqual(body.Cmd, ['sh', '-c', 'ls -l']);
  assert.equal(body.AttachStdout, false);
  assert.equal(body.OpenStdin, true);
  assert.deepEqual(body.ExposedPorts, { '80/tcp': {} });
});

test('run flags: --ip and --network-alias go to the endpoint config; --rm is AutoRemove', () => {
  const { args, flags } = parseRun(['--rm', '--network', 'n1', '--ip', '10.0.0.5', '--network-alias', 'web', '--entrypoint', '', 'img']);
  const body = createBody(args[0], [], flags) as Record<string, any>;
  assert.equal(body.HostConfig.AutoRemove, true);
  assert.deepEqual(body.NetworkingConfig.EndpointsConfig.n1.IPAMConfig, { IPv4Address: '10.0.0.5', IPv6Address: '' });
  assert.deepEqual(body.NetworkingConfig.EndpointsConfig.n1.Aliases, ['web']);
  assert.deepEqual(body.Entrypoint, ['']);
  assert.equal(body.Cmd, null);
});

test('publish specs', () => {
  assert.deepEqual(parsePublish('8080:80'), { key: '80/tcp', binding: { HostIp: '', HostPort: '8080' } });
  assert.deepEqual(parsePublish('127.0.0.1:53:53/udp'), { key: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '53' } });
  assert.deepEqual(parsePublish('[::1]:80:80'), { key: '80/tcp', binding: { HostIp: '::1', HostPort: '80' } });
  assert.throws(() => parsePublish('a:b:c:d'), /invalid port specification/);
});

test('network create IPAM pairing, filters, labels', () => {
  assert.deepEqual(buildIpamConfig(['10.1.0.0/16', 'fd00::/64'], ['10.1.2.0/24'], ['10.1.0.1', 'fd00::1'], ['r=10.1.0.9']), [
    { Subnet: '10.1.0.0/16', IPRange: '10.1.2.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { r: '10.1.0.9' } },
    { Subnet: 'fd00::/64', Gateway: 'fd00::1' },
  ]);
  assert.throws(() => buildIpamConfig(['10.1.0.0/16'], [], ['10.2.0.1'], []), /no matching subnet for gateway 10.2.0.1/);
  assert.equal(parseFilters(['name=a', 'name=b', 'driver=bridge']), '{"name":{"a":true,"b":true},"driver":{"bridge":true}}');
  assert.equal(parseFilters([]), undefined);
  assert.deepEqual(parseKeyValues(['a=b=c', 'x']), { a: 'b=c', x: '' });
  assert.deepEqual(splitRepoTag('localhost:5000/alpine:3'), ['localhost:5000/alpine', '3']);
  assert.deepEqual(splitRepoTag('localhost:5000/alpine'), ['localhost:5000/alpine', '']);
  assert.equal(parseSince('10m', 1_000_000_000), String(1_000_000 - 600));
  assert.equal(parseSince('1700000000'), '1700000000');
});

test('program wiring: subcommands and docker-style usage errors', async () => {
  const p = buildProgram();
  const names = p.commands.map((c) => c.name());
  for (const n of ['network', 'run', 'create', 'start', 'stop', 'kill', 'rm', 'ps', 'exec', 'attach', 'logs', 'inspect', 'wait', 'images', 'image', 'container']) {
    assert.ok(names.includes(n), n);
  }
  await assert.rejects(p.parseAsync(['network', 'create'], { from: 'user' }), {
    message: "weft: 'weft network create' requires 1 argument\n\nUsage:  weft network create [OPTIONS] NETWORK\n\nRun 'weft network create --help' for more information",
  });
  await assert.rejects(buildProgram().parseAsync(['network', 'ls', '--bogus'], { from: 'user' }), /^Error: unknown flag: --bogus\n\nUsage:  weft network ls \[OPTIONS\]/);
});

test('run flags: --privileged, --cap-add/--cap-drop, --security-opt (a seccomp file is sent as its JSON, as the docker CLI does)', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'weft-cli-seccomp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'p.json');
  writeFileSync(file, '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": []\n}\n');
  const { args, flags } = parseRun(['--privileged', '--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--security-opt', `seccomp=${file}`, '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=unconfined', 'img']);
  const hc = (createBody(args[0], [], flags) as Record<string, any>).HostConfig;
  assert.deepEqual([hc.Privileged, hc.CapAdd, hc.CapDrop], [true, ['NET_ADMIN'], ['ALL']]);
  assert.deepEqual(hc.SecurityOpt, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}', 'no-new-privileges', 'seccomp=unconfined']);
  const none = (createBody('img', [], parseRun(['img']).flags) as Record<string, any>).HostConfig;
  assert.deepEqual([none.Privileged, none.CapAdd, none.SecurityOpt], [false, null, null]);
  assert.throws(() => createBody('img', [], parseRun(['--security-opt', 'foo', 'img']).flags), /Invalid --security-opt: "foo"/);
  assert.throws(() => createBody('img', [], parseRun(['--security-opt', `seccomp=${join(dir, 'none.json')}`, 'img']).flags), /opening seccomp profile \(.*none\.json\) failed/);
});
