import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_CAPS, capMask, containerCaps, DEFAULT_CAPS, grantableCaps } from '../../src/runtime/caps.js';
import { DEFAULT_PROFILE, kernelVersion, seccompFor, type SeccompHost } from '../../src/runtime/seccomp.js';
import { containerSecurity, seccompOf } from '../../src/runtime/security.js';
import { buildOciSpec, checkProcess, containerEnv } from '../../src/runtime/oci-spec.js';
import { lookupGid, socketGid } from '../../src/daemon/socket.js';
import { parseDaemonArgs } from '../../src/daemon/config.js';
import type { RunSpec } from '../../src/runtime/types.js';

const amd64: SeccompHost = { arch: 'amd64', kernel: [6, 1] };
const names = (s: ReturnType<typeof seccompFor>) => new Set(s!.syscalls!.flatMap((c) => (c.action === 'SCMP_ACT_ALLOW' && !c.args ? c.names : [])));

test("capabilities: Docker's default mask, add/drop/ALL with Docker's normalisation and errors", () => {
  assert.equal(capMask(DEFAULT_CAPS), '00000000a80425fb');
  assert.deepEqual(containerCaps([], [], false), DEFAULT_CAPS);
  assert.equal(capMask(containerCaps(['sys_admin'], [], false)), '00000000a82425fb');
  assert.equal(capMask(containerCaps(['CAP_NET_ADMIN'], ['NET_RAW', 'chown'], false)), '00000000a80415fa');
  assert.deepEqual(containerCaps(['NET_RAW'], ['ALL'], false), ['CAP_NET_RAW']);
  assert.throws(() => containerCaps(['FOO'], [], false), /^WeftError: invalid CapAdd: unknown capability: "CAP_FOO"$|invalid CapAdd: unknown capability: "CAP_FOO"/);
  assert.throws(() => containerCaps([], ['bar'], false), /invalid CapDrop: unknown capability: "CAP_BAR"/);
  // "all" = the kernel's (cap_last_cap) that the daemon's bounding set holds
  assert.equal(grantableCaps('CapBnd:\t000001fffeffffff\n', '40').length, 40);
  assert.ok(!grantableCaps('CapBnd:\t000001fffeffffff\n', '40').includes('CAP_SYS_RESOURCE'));
  assert.deepEqual(grantableCaps('CapBnd:\t000001ffffffffff\n', '37'), ALL_CAPS.slice(0, 38));
});

test('seccomp: the default profile for amd64 with default caps, as moby builds it', () => {
  const s = seccompFor(DEFAULT_PROFILE, DEFAULT_CAPS, amd64)!;
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const allowed = names(s);
  for (const n of ['read', 'write', 'clone', 'arch_prctl', 'modify_ldt', 'chroot', 'ptrace']) assert.ok(allowed.has(n) || n === 'clone', n);
  for (const n of ['unshare', 'mount', 'umount2', 'setns', 'keyctl', 'bpf', 'init_module', 'reboot', 'settimeofday', 'swapcontext', 's390_runtime_instr']) assert.ok(!allowed.has(n), n);
  // clone without CAP_SYS_ADMIN: only with the namespace flags masked out; clone3 answers ENOSYS
  const clone = s.syscalls!.filter((c) => c.names.includes('clone'));
  assert.equal(clone.length, 1);
  assert.deepEqual(clone[0].args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
  assert.deepEqual(s.syscalls!.find((c) => c.names[0] === 'clone3'), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  assert.ok(!JSON.stringify(s).includes('"comment"') && !JSON.stringify(s).includes('includes'));
});

test('seccomp: capability, arch and kernel conditions', () => {
  const admin = names(seccompFor(DEFAULT_PROFILE, [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], amd64));
  for (const n of ['unshare', 'mount', 'setns', 'clone', 'clone3']) assert.ok(admin.has(n), n);
  assert.ok(!admin.has('reboot'));
  assert.ok(names(seccompFor(DEFAULT_PROFILE, [...DEFAULT_CAPS, 'CAP_SYS_BOOT'], amd64)).has('reboot'));
  const arm = seccompFor(DEFAULT_PROFILE, DEFAULT_CAPS, { arch: 'arm64', kernel: [6, 1] })!;
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(!names(arm).has('arch_prctl') && names(arm).has('breakpoint'));
  // ptrace is allowed without CAP_SYS_PTRACE from 4.8 on (the seccomp bypass was fixed there)
  assert.ok(!names(seccompFor(DEFAULT_PROFILE, DEFAULT_CAPS, { arch: 'amd64', kernel: [4, 4] })).has('ptrace'));
  assert.deepEqual(kernelVersion('6.18.44-fc-v1045'), [6, 18]);
  assert.throws(() => seccompFor({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86'], archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }], syscalls: [] }, [], amd64), /both 'architectures' and 'archMap'/);
  assert.equal(seccompFor({ syscalls: [] }, [], amd64), null, 'no default action, no rules: no filter');
  assert.deepEqual(seccompFor({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO' }] }, [], amd64), { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
});

test('security options: Docker parsing, refusals, and what the OCI spec gets', () => {
  const d = containerSecurity({});
  assert.deepEqual(d, { privileged: false, caps: DEFAULT_CAPS, seccomp: 'default', noNewPrivileges: false });
  assert.equal(containerSecurity({ SecurityOpt: ['seccomp=unconfined'] }).seccomp, 'unconfined');
  assert.equal(containerSecurity({ SecurityOpt: ['seccomp:unconfined', 'no-new-privileges'] }).noNewPrivileges, true);
  assert.equal(containerSecurity({ SecurityOpt: ['no-new-privileges=true', 'no-new-privileges=0'] }).noNewPrivileges, false);
  assert.equal(containerSecurity({ SecurityOpt: ['apparmor=docker-default', 'label=disable', 'disable'] }).seccomp, 'default');
  assert.throws(() => containerSecurity({ SecurityOpt: ['foo'] }), /^.*invalid --security-opt 1: "foo"$/);
  assert.throws(() => containerSecurity({ SecurityOpt: ['foo=bar'] }), /invalid --security-opt 2: "foo=bar"/);
  assert.throws(() => containerSecurity({ SecurityOpt: ['no-new-privileges=maybe'] }), /invalid --security-opt 2/);
  assert.throws(() => containerSecurity({ SecurityOpt: ['seccomp={bad'] }), /Decoding seccomp profile failed/);
  const p = containerSecurity({ Privileged: true, SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_KILL"}'] });
  assert.equal(seccompOf(p), null, '--privileged has no filter, whatever the profile (as Docker)');
  assert.equal(seccompOf(containerSecurity({ SecurityOpt: ['seccomp=unconfined'] })), null);
  assert.equal(seccompOf(d)!.defaultAction, 'SCMP_ACT_ERRNO');
});

const spec: RunSpec = {
  id: 'a'.repeat(64), name: 'web', imageId: 'sha256:' + 'b'.repeat(64), args: ['true'], env: [], cwd: '', user: '', tty: false,
  openStdin: false, hostname: 'h', netns: '/run/netns/x', files: {},
};
type Oci = { process: { capabilities: Record<string, string[]>; noNewPrivileges: boolean }; linux: Record<string, any>; mounts: { destination: string; options: string[] }[] };

test('OCI spec: default vs privileged', () => {
  const def = buildOciSpec(spec, '/r', { uid: 0, gid: 0 }) as unknown as Oci;
  assert.deepEqual(Object.keys(def.process.capabilities).sort(), ['bounding', 'effective', 'permitted'], 'nothing inheritable');
  assert.equal(def.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(def.linux.maskedPaths.includes('/proc/kcore'));
  assert.deepEqual(def.linux.resources.devices, [{ allow: false, access: 'rwm' }]);
  assert.equal(def.linux.devices, undefined);
  const priv = buildOciSpec({ ...spec, security: containerSecurity({ Privileged: true }) }, '/r', { uid: 0, gid: 0 }) as unknown as Oci;
  assert.equal(priv.linux.seccomp, undefined);
  assert.deepEqual([priv.linux.maskedPaths, priv.linux.readonlyPaths], [[], []]);
  assert.ok(!priv.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
  assert.deepEqual(priv.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(priv.linux.devices.some((x: { path: string; type: string; major: number; minor: number }) => x.path === '/dev/null' && x.type === 'c' && x.major === 1 && x.minor === 3));
  assert.ok(!priv.linux.devices.some((x: { path: string }) => x.path.startsWith('/dev/pts/') || x.path === '/dev/console'));
  const nnp = buildOciSpec({ ...spec, security: containerSecurity({ SecurityOpt: ['no-new-privileges'] }) }, '/r', { uid: 0, gid: 0 }) as unknown as Oci;
  assert.equal(nnp.process.noNewPrivileges, true);
});

test("env and working directory: Docker's unset entries, refusals at create", () => {
  assert.deepEqual(containerEnv({ env: ['A=1', 'B=2', 'A', 'x;y'], hostname: 'h', tty: false }), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'B=2', 'HOSTNAME=h',
  ]);
  assert.throws(() => checkProcess(['=x'], '/'), /invalid environment variable: =x/);
  assert.throws(() => checkProcess([], 'rel'), /the working directory 'rel' is invalid, it needs to be an absolute path/);
  checkProcess(['A=1', 'B'], '');
});

test('socket group: names from /etc/group, numbers, the default missing (warning), another missing (error)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'group');
  writeFileSync(file, 'root:x:0:\nstaff:x:50:alice\n');
  assert.equal(lookupGid('staff', file), 50);
  assert.equal(lookupGid('4242', file), 4242);
  assert.equal(lookupGid('nope', file), null);
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
  assert.equal(socketGid('weft', '/run/w.sock', log, file), process.getgid!());
  assert.deepEqual(warnings, ['could not change group /run/w.sock to weft: group weft not found']);
  assert.equal(socketGid('staff', '/run/w.sock', log, file), 50);
  assert.equal(socketGid('', '/run/w.sock', log, file), process.getgid!());
  assert.throws(() => socketGid('nope', '/run/w.sock', log, file), /^DaemonConfigError: failed to load listeners: group nope not found$|failed to load listeners: group nope not found/);
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, '{}');
  assert.equal(parseDaemonArgs(['--config-file', cfg]).group, 'weft');
  assert.equal(parseDaemonArgs(['--config-file', cfg, '-G', 'staff']).group, 'staff');
  writeFileSync(cfg, '{"group": "docker"}');
  assert.equal(parseDaemonArgs(['--config-file', cfg]).group, 'docker');
  assert.throws(() => parseDaemonArgs(['--config-file', cfg, '--group', 'x']), /specified both as a flag and in the configuration file: group/);
});
