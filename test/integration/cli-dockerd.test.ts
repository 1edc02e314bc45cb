// Runs `weft` and the real docker CLI against a private dockerd in a fresh network namespace
// and compares their output. Skipped when dockerd/docker are missing or we are not root.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const dockerd = which('dockerd');
const docker = which('docker');
const isRoot = process.getuid?.() === 0;
const skip = !dockerd ? 'dockerd is not installed' : !docker ? 'the docker CLI is not installed' : !isRoot ? 'needs root for network namespaces' : false;

const weftBin = resolve(process.cwd(), 'bin/weft');
const alpineTar = resolve(process.cwd(), 'images/alpine.tar');
let ns: TestNetns | undefined;
let daemon: ChildProcess | undefined;
let dir = '';
let sock = '';

interface Out {
  stdout: string;
  stderr: string;
  status: number | null;
}
function run(bin: string, args: string[]): Out {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DOCKER_HOST: `unix://${sock}`, WEFT_HOST: '' } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
const weft = (...a: string[]) => run(weftBin, a);
const dock = (...a: string[]) => run(docker!, a);

function cleanup(): void {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    spawnSync('sh', ['-c', `for i in $(seq 50); do kill -0 ${daemon.pid} 2>/dev/null || exit 0; sleep 0.1; done`]);
  }
  ns?.destroy(); // SIGKILLs anything left in the namespace (containerd, shims) and deletes it
  if (dir) {
    // Unmount anything dockerd left behind (overlay, netns bind mounts) before deleting.
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  }
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wcli-'));
  sock = join(dir, 'd.sock');
  try {
    ns = createTestNetns('wcli');
    daemon = ns.spawn(dockerd!, [
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${sock}`,
      '--pidfile', join(dir, 'pid'), '--bip', '10.213.0.1/24', '--iptables=false', '--ip6tables=false',
    ], { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    while (!(existsSync(sock) && dock('version').status === 0)) {
      if (Date.now() > deadline || daemon.exitCode !== null) throw new Error('dockerd did not come up');
      await new Promise((r) => setTimeout(r, 200));
    }
    execFileSync(docker!, ['import', '--change', 'CMD ["/bin/sh"]', alpineTar, 'alpine'], {
      env: { ...process.env, DOCKER_HOST: `unix://${sock}` }, stdio: 'ignore',
    });
  } catch (e) {
    cleanup();
    throw e;
  }
});

after(() => {
  if (!skip) cleanup();
});

test('network create/ls/inspect/rm match the docker CLI', { skip, timeout: 30_000 }, () => {
  const args = ['--subnet', '10.77.0.0/24', '--gateway', '10.77.0.254', '--label', 'team=net', '-o', 'com.docker.network.bridge.name=brw'];
  const w = weft('network', 'create', ...args, 'wnet');
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /^[0-9a-f]{64}\n$/);
  const d = dock('network', 'create', '--subnet', '10.78.0.0/24', '--label', 'team=net', '-o', 'com.docker.network.bridge.name=brd', 'dnet');
  assert.equal(d.status, 0, d.stderr);

  for (const a of [['network', 'ls'], ['network', 'ls', '-q'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}\t{{.Labels}}'],
    ['network', 'ls', '--format', '{{json .}}'], ['network', 'ls', '-f', 'name=net'], ['network', 'inspect', 'wnet', 'dnet'],
    ['network', 'inspect', '-f', '{{.Name}} {{.IPAM.Config}} {{json .Labels}} {{index .Options "com.docker.network.bridge.name"}}', 'wnet'],
    ['network', 'inspect', 'nope'], ['network', 'create', 'wnet'], ['network', 'ls', '-f', 'bogus=1']]) {
    const got = weft(...a);
    const want = dock(...a);
    assert.equal(got.stdout, want.stdout, `stdout of ${a.join(' ')}`);
    assert.equal(got.stderr, want.stderr, `stderr of ${a.join(' ')}`);
    assert.equal(got.status, want.status, `status of ${a.join(' ')}`);
  }
  const rmW = weft('network', 'rm', 'wnet', 'nope');
  const rmD = dock('network', 'rm', 'dnet', 'nope');
  assert.equal(rmW.stdout, 'wnet\n');
  assert.equal(rmD.stdout, 'dnet\n');
  assert.equal(rmW.stderr, rmD.stderr);
  assert.equal(rmW.status, rmD.status);
});

test('run --rm alpine echo hi matches the docker CLI', { skip, timeout: 30_000 }, () => {
  const w = weft('run', '--rm', 'alpine', 'echo', 'hi');
  const d = dock('run', '--rm', 'alpine', 'echo', 'hi');
  assert.deepEqual(w, d);
  assert.equal(w.stdout, 'hi\n');
  const we = weft('run', '--rm', 'alpine', 'sh', '-c', 'echo out; echo err >&2; exit 3');
  assert.deepEqual(we, { stdout: 'out\n', stderr: 'err\n', status: 3 });
  assert.equal(dock('ps', '-aq').stdout, '', '--rm left a container behind');
});
