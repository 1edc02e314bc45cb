import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOciSpec, containerEnv, resolveUser, DEFAULT_CAPS } from '../../src/runtime/oci-spec.js';
import { conmonArgs } from '../../src/runtime/launch.js';
import { runcExecArgs } from '../../src/runtime/exec.js';
import { Paths } from '../../src/runtime/state.js';
import type { RunSpec } from '../../src/runtime/types.js';

const spec: RunSpec = {
  id: 'a'.repeat(64), name: 'web', imageId: 'sha256:' + 'b'.repeat(64), args: ['ping', '-c', '1', 'x'], env: ['FOO=1'],
  cwd: '', user: '', tty: true, openStdin: true, hostname: 'aaaaaaaaaaaa', netns: '/run/netns/x',
  files: { '/etc/hosts': '/var/lib/weft/containers/a/hosts' },
};
type Oci = { process: { env: string[]; cwd: string; capabilities: { bounding: string[] }; terminal: boolean; user: object }; linux: { namespaces: { type: string; path?: string }[]; cgroupsPath: string }; mounts: { destination: string; type: string; options: string[]; source: string }[]; hostname: string; root: { path: string } };

test('OCI spec: namespaces, caps, mounts, process', () => {
  const oci = buildOciSpec(spec, '/r/rootfs', { uid: 0, gid: 0 }) as unknown as Oci;
  assert.deepEqual(oci.linux.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/netns/x' }]);
  assert.equal(oci.linux.cgroupsPath, `/weft/${spec.id}`);
  assert.deepEqual(oci.process.capabilities.bounding, DEFAULT_CAPS);
  assert.ok(oci.process.capabilities.bounding.includes('CAP_NET_RAW'));
  assert.equal(oci.process.terminal, true);
  assert.equal(oci.process.cwd, '/');
  assert.equal(oci.hostname, 'aaaaaaaaaaaa');
  assert.equal(oci.root.path, '/r/rootfs');
  const dests = oci.mounts.map((m) => m.destination);
  for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/etc/hosts']) assert.ok(dests.includes(d), d);
  const hosts = oci.mounts.find((m) => m.destination === '/etc/hosts')!;
  assert.equal(hosts.type, 'bind');
  assert.ok(hosts.options.includes('rw'));
  assert.ok(oci.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
  const host = buildOciSpec({ ...spec, netns: 'host' }, '/r', { uid: 0, gid: 0 }) as unknown as Oci;
  assert.ok(!host.linux.namespaces.some((n) => n.type === 'network'));
});

test('env defaults', () => {
  assert.deepEqual(containerEnv(spec), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=1', 'HOSTNAME=aaaaaaaaaaaa', 'TERM=xterm',
  ]);
  assert.deepEqual(containerEnv({ env: ['PATH=/x', 'TERM=vt100'], hostname: 'h', tty: true }), ['PATH=/x', 'TERM=vt100', 'HOSTNAME=h']);
});

test('user resolution', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n';
  const group = 'root:x:0:\nnogroup:x:65534:\n';
  assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0 });
  assert.deepEqual(resolveUser('www-data', passwd, group), { uid: 33, gid: 33 });
  assert.deepEqual(resolveUser('1000', passwd, group), { uid: 1000, gid: 0 });
  assert.deepEqual(resolveUser('33:nogroup', passwd, group), { uid: 33, gid: 65534 });
  assert.deepEqual(resolveUser('5:7', passwd, group), { uid: 5, gid: 7 });
  assert.throws(() => resolveUser('bob', passwd, group), /unable to find user bob/);
});

test('conmon and runc exec command lines', () => {
  const paths = new Paths('/run/wt', '/var/lib/wt');
  const args = conmonArgs({ conmon: 'conmon', runc: '/usr/sbin/runc', paths, spec });
  assert.ok(args.includes('--full-attach'));
  assert.ok(args.includes('-t') && args.includes('-i') && args.includes('--leave-stdin-open'));
  assert.equal(args[args.indexOf('-b') + 1], `/run/wt/containers/${spec.id}`);
  assert.equal(args[args.indexOf('-l') + 1], `k8s-file:/var/lib/wt/containers/${spec.id}/ctr.log`);
  assert.equal(args[args.indexOf('--runtime-arg') + 1], '--root=/run/wt/runc');
  const noTty = conmonArgs({ conmon: 'conmon', runc: 'runc', paths, spec: { ...spec, tty: false, openStdin: false } });
  assert.ok(!noTty.includes('-t') && !noTty.includes('-i'));
  const ex = runcExecArgs('/run/wt/runc', 'cid', { args: ['ip', 'a'], env: ['A=1'], tty: true, raw: true, stdin: true, user: '', cwd: '/tmp', privileged: false }, { uid: 0, gid: 0 });
  assert.deepEqual(ex, ['--root', '/run/wt/runc', 'exec', '--tty', '--cwd', '/tmp', '--env', 'A=1', '--user', '0:0', 'cid', 'ip', 'a']);
});
