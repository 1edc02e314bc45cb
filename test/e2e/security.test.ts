import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonKinds, startDaemon, type Daemon } from '../helpers/daemons.js';
import { allCaps, capMask } from '../../src/runtime/caps.js';

// Container security with real containers, on weftd and on Debian's dockerd side by side (the
// same commands must give the same results): Docker's default capabilities (CapEff
// 00000000a80425fb, nothing inheritable), Docker's default seccomp profile (unshare and mount
// fail with EPERM where the capabilities alone would allow them), its capability conditions
// (--cap-add SYS_ADMIN allows them), seccomp=unconfined, a custom profile, no-new-privileges,
// and Docker's refusals. --privileged is weft only here: this machine's root lacks
// CAP_SYS_RESOURCE, so dockerd (which asks for every capability) cannot start one at all.

const STATUS = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status";
const DOCKER_DEFAULT_EFF = '00000000a80425fb';
const WITH_SYS_ADMIN = '00000000a82425fb';

for (const kind of daemonKinds()) {
  describe(`container security (${kind})`, { timeout: 600_000 }, () => {
    let d: Daemon;
    let dir: string;
    before(async () => {
      d = await startDaemon(kind);
      dir = mkdtempSync(join(tmpdir(), 'weft-seccomp-'));
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await d?.stop();
    });

    const run = (args: string[], cmd: string) => d.docker(['run', '--rm', ...args, 'busybox', 'sh', '-c', cmd], { timeoutMs: 60_000 });
    const status = async (args: string[] = []) => {
      const r = await run(args, STATUS);
      assert.equal(r.code, 0, r.stderr);
      return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
    };

    test("Docker's default capability set, nothing inheritable, seccomp filter on", async () => {
      assert.deepEqual(await status(), {
        CapInh: '0000000000000000', CapPrm: DOCKER_DEFAULT_EFF, CapEff: DOCKER_DEFAULT_EFF, CapBnd: DOCKER_DEFAULT_EFF, CapAmb: '0000000000000000',
        NoNewPrivs: '0', Seccomp: '2',
      });
      const user = await status(['--user', '1000']);
      assert.equal(user.CapEff, '0000000000000000', 'a non-root user has no effective capabilities');
      assert.equal(user.CapBnd, DOCKER_DEFAULT_EFF);
    });

    test('the default profile blocks unshare (EPERM) where capabilities would not; unconfined lifts it', async () => {
      const blocked = await run([], 'unshare -U true');
      assert.equal(blocked.code, 1);
      assert.match(blocked.stderr, /unshare\(0x10000000\): Operation not permitted/);
      const unconfined = await run(['--security-opt', 'seccomp=unconfined'], 'unshare -U true && grep Seccomp: /proc/self/status');
      assert.equal(unconfined.code, 0, unconfined.stderr);
      assert.match(unconfined.stdout, /Seccomp:\s+0/);
      // mount needs CAP_SYS_ADMIN either way
      const mount = await run(['--security-opt', 'seccomp=unconfined'], 'mkdir -p /m && mount -t tmpfs none /m');
      assert.notEqual(mount.code, 0);
    });

    test("the profile's capability conditions: --cap-add SYS_ADMIN allows unshare and mount", async () => {
      const s = await status(['--cap-add', 'SYS_ADMIN']);
      assert.equal(s.CapEff, WITH_SYS_ADMIN);
      assert.equal(s.Seccomp, '2');
      const r = await run(['--cap-add', 'sys_admin'], 'unshare -m true && mkdir -p /m && mount -t tmpfs none /m && echo mounted');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'mounted');
    });

    test('--cap-drop, no-new-privileges, and the refusals', async () => {
      assert.equal((await status(['--cap-drop', 'ALL'])).CapEff, '0000000000000000');
      assert.equal((await status(['--cap-drop', 'ALL', '--cap-add', 'NET_RAW'])).CapEff, '0000000000002000');
      assert.equal((await status(['--cap-drop', 'NET_RAW'])).CapEff, '00000000a80405fb');
      assert.equal((await status(['--security-opt', 'no-new-privileges'])).NoNewPrivs, '1');
      assert.equal((await status(['--security-opt', 'no-new-privileges=false'])).NoNewPrivs, '0');
      const badCap = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { CapAdd: ['FOO'] } });
      assert.equal(badCap.status, 400);
      assert.equal(badCap.json.message, 'invalid CapAdd: unknown capability: "CAP_FOO"');
      const badOpt = await d.docker(['run', '--rm', '--security-opt', 'foo=bar', 'busybox', 'true']);
      assert.equal(badOpt.code, 125);
      assert.match(badOpt.stderr, /Error response from daemon: invalid --security-opt 2: "foo=bar"/);
      const badNnp = await d.docker(['run', '--rm', '--security-opt', 'no-new-privileges=maybe', 'busybox', 'true']);
      assert.match(badNnp.stderr, /invalid --security-opt 2: "no-new-privileges=maybe"/);
    });

    test('a custom profile (--security-opt seccomp=file) is applied as given', async () => {
      const profile = join(dir, 'no-mkdir.json');
      writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
      const r = await run(['--security-opt', `seccomp=${profile}`], 'mkdir /x');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Permission denied/, 'errnoRet 13 = EACCES');
      assert.equal((await run(['--security-opt', `seccomp=${profile}`], 'unshare -U true')).code, 0, 'everything else is allowed by that profile');
    });

    test('inspect shows the settings as given (and label=disable for --privileged, as dockerd stores it)', async () => {
      const id = await d.dockerOk(['create', '--privileged', '--cap-add', 'NET_ADMIN', '--security-opt', 'seccomp=unconfined', 'busybox', 'true']);
      const hc = JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .HostConfig}}', id]));
      assert.deepEqual([hc.Privileged, hc.CapAdd, hc.CapDrop, hc.SecurityOpt], [true, ['CAP_NET_ADMIN'], null, ['seccomp=unconfined', 'label=disable']]);
      assert.deepEqual(JSON.parse(await d.dockerOk(['info', '-f', '{{json .SecurityOptions}}'])), ['name=seccomp,profile=default']);
      await d.dockerOk(['rm', id]);
    });

    test('--privileged: every capability weftd holds, no seccomp, writable /sys, the host devices', { skip: kind !== 'weft' && 'dockerd cannot start privileged containers on this machine (no CAP_SYS_RESOURCE)' }, async () => {
      const s = await status(['--privileged']);
      assert.equal(s.CapEff, capMask(allCaps()));
      assert.equal(s.CapBnd, capMask(allCaps()));
      assert.equal(s.Seccomp, '0');
      const r = await run(['--privileged'], 'grep " /sys " /proc/self/mounts; mkdir -p /m && mount -t tmpfs none /m && echo mounted; unshare -U true && echo unshared; test -c /dev/fuse && echo fuse');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^sysfs \/sys sysfs rw,/m);
      assert.match(r.stdout, /^mounted$/m);
      assert.match(r.stdout, /^unshared$/m);
      assert.match(r.stdout, /^fuse$/m, 'a host device that default containers do not get');
      assert.equal((await run([], 'test -c /dev/fuse')).code, 1);
      // exec --privileged into a default container gets them too; the container's seccomp stays
      const id = await d.dockerOk(['run', '-d', 'busybox', 'sleep', '60']);
      const ex = await d.docker(['exec', '--privileged', id, 'sh', '-c', STATUS]);
      assert.match(ex.stdout, new RegExp(`CapEff:\\s+${capMask(allCaps())}`));
      assert.match(ex.stdout, /Seccomp:\s+2/);
      await d.dockerOk(['rm', '-f', id]);
    });
  });
}
