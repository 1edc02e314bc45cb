// ConmonRuntime + ImageStore against real runc/conmon, inside a throwaway network namespace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { ConmonRuntime } from '../../src/runtime/conmon.js';
import { ImageStore } from '../../src/runtime/images.js';
import type { RunSpec } from '../../src/runtime/types.js';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';

const IMAGES = new URL('../../../images/', import.meta.url).pathname;
let ns: TestNetns;
let execRoot: string;
let dataRoot: string;
let db: Database.Database;
let images: ImageStore;
let rt: ConmonRuntime;
let etc: string;
const ids: string[] = [];

function newSpec(over: Partial<RunSpec>): RunSpec {
  const id = randomBytes(32).toString('hex');
  ids.push(id);
  return {
    id, name: `t-${id.slice(0, 6)}`, imageId: images.resolve('alpine').Id, args: ['true'], env: [], cwd: '/', user: '',
    tty: false, openStdin: false, hostname: id.slice(0, 12), netns: ns.path,
    files: { '/etc/hosts': join(etc, 'hosts'), '/etc/hostname': join(etc, 'hostname') }, ...over,
  };
}

function waitExit(id: string, ms = 10000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no exit for ${id}`)), ms);
    const on = (eid: string, code: number) => {
      if (eid !== id) return;
      clearTimeout(t);
      rt.off('exit', on);
      resolve(code);
    };
    rt.on('exit', on);
  });
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Payloads of Docker frames by stream. */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    const text = buf.toString('utf8', i + 8, i + 8 + len);
    if (buf[i] === 1) out.stdout += text;
    else out.stderr += text;
    i += 8 + len;
  }
  return out;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  ns = createTestNetns('wtrt');
  execRoot = `/run/wt-${randomBytes(3).toString('hex')}`;
  dataRoot = mkdtempSync(join(tmpdir(), 'weft-rt-'));
  etc = join(dataRoot, 'etc');
  execFileSync('mkdir', ['-p', etc]);
  writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(etc, 'hostname'), 'box\n');
  db = new Database(join(dataRoot, 'weft.db'));
  images = new ImageStore(db, dataRoot);
  const seeded = await images.seed(IMAGES);
  // nginx is seeded too when set-up could build it (it needs Debian's nginx package).
  assert.deepEqual(seeded.filter((t) => t !== 'nginx:latest'), ['alpine:latest', 'busybox:latest']);
  rt = new ConmonRuntime({ execRoot, dataRoot, images });
});

after(async () => {
  for (const id of ids) await rt.remove(id).catch(() => undefined);
  rt.close();
  db.close();
  ns.destroy();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  rmSync(execRoot, { recursive: true, force: true });
  rmSync(dataRoot, { recursive: true, force: true });
  assert.ok(!mounts.includes(execRoot) && !mounts.includes(dataRoot), 'mounts left behind');
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  for (const id of ids) assert.ok(!ps.includes(id), `process left for ${id}`);
  assert.ok(!existsSync(execRoot) && !existsSync(dataRoot));
});

test('images: list, resolve, inspect', () => {
  const list = images.list().filter((i) => !JSON.stringify(i).includes('nginx:latest'));
  assert.equal(list.length, 2);
  assert.deepEqual(list.map((i) => i.RepoTags).flat().sort(), ['alpine:latest', 'busybox:latest']);
  const alpine = images.resolve('alpine:latest');
  assert.match(alpine.Id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(images.resolve(alpine.Id.slice(7, 19)).Id, alpine.Id);
  assert.deepEqual(images.inspect('alpine').Config.Cmd, ['/bin/sh']);
  assert.throws(() => images.resolve('nosuch'), /No such image: nosuch:latest/);
});

test('ping exits 0 and its output is in the logs', async () => {
  const spec = newSpec({ args: ['ping', '-c', '1', '127.0.0.1'] });
  await rt.create(spec);
  const exited = waitExit(spec.id);
  const st = await rt.start(spec.id);
  console.log('start timings (ms)', rt.lastStartTimings);
  assert.ok(st.startedAt);
  assert.equal(await exited, 0);
  const after = await rt.status(spec.id);
  assert.equal(after.running, false);
  assert.equal(after.exitCode, 0);
  const logs = demux(await collect(rt.logs(spec.id, { follow: false, stdout: true, stderr: true, timestamps: false, tail: 'all', since: 0, until: 0 }, false)));
  assert.match(logs.stdout, /1 packets transmitted, 1 packets received/);
  const tail1 = demux(await collect(rt.logs(spec.id, { follow: false, stdout: true, stderr: true, timestamps: true, tail: 1, since: 0, until: 0 }, false)));
  assert.match(tail1.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z round-trip/);
});

test('stdout and stderr are separate; exit code is kept', async () => {
  const spec = newSpec({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  await rt.create(spec);
  const exited = waitExit(spec.id);
  await rt.start(spec.id);
  assert.equal(await exited, 3);
  const logs = demux(await collect(rt.logs(spec.id, { follow: true, stdout: true, stderr: true, timestamps: false, tail: 'all', since: 0, until: 0 }, false)));
  assert.deepEqual(logs, { stdout: 'out\n', stderr: 'err\n' });
});

test('tty shell: attach, type, detach with ctrl-p ctrl-q, exec, kill', async () => {
  const spec = newSpec({ args: ['/bin/sh'], tty: true, openStdin: true });
  await rt.create(spec);
  const session = await rt.attach(spec.id, { stdin: true, stdout: true, stderr: true });
  await rt.start(spec.id);
  let seen = '';
  session.output.on('data', (d: Buffer) => (seen += d.toString()));
  session.input.write('echo hi$((1+1))\n');
  await until(() => seen.includes('hi2'));
  await rt.resize(spec.id, 40, 100);
  session.input.write('stty size\n');
  await until(() => seen.includes('40 100'));
  const ended = new Promise((r) => session.output.on('end', r));
  session.input.write(Buffer.from([0x10, 0x11]));
  await ended;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await rt.status(spec.id)).running, true, 'container survives detach');

  // re-attach: the shell still answers
  const again = await rt.attach(spec.id, { stdin: true, stdout: true, stderr: true });
  let seen2 = '';
  again.output.on('data', (d: Buffer) => (seen2 += d.toString()));
  again.input.write('echo back$((2+2))\n');
  await until(() => seen2.includes('back4'));
  again.close();

  const ex = await rt.exec(spec.id, { args: ['sh', '-c', 'ip addr show lo; echo oops >&2; exit 7'], env: [], tty: false, raw: false, stdin: false, user: '', cwd: '/', privileged: false });
  const [out, code] = await Promise.all([collect(ex.output), ex.done]);
  const frames = demux(out);
  assert.equal(code, 7);
  assert.match(frames.stdout, /inet 127\.0\.0\.1/);
  assert.equal(frames.stderr, 'oops\n');

  const tex = await rt.exec(spec.id, { args: ['/bin/sh'], env: [], tty: true, raw: true, stdin: true, user: '', cwd: '/', privileged: false });
  let tout = '';
  tex.output.on('data', (d: Buffer) => (tout += d.toString()));
  tex.resize(30, 70);
  tex.input.write('stty size; hostname; exit 5\n');
  assert.equal(await tex.done, 5);
  assert.match(tout, /30 70/);
  assert.match(tout, new RegExp(spec.hostname));

  const exited = waitExit(spec.id);
  await rt.kill(spec.id, 'SIGKILL');
  assert.equal(await exited, 137);
  assert.equal((await rt.status(spec.id)).exitCode, 137);
});

test('non-tty stdin: piped input reaches the process and EOF closes it', async () => {
  const spec = newSpec({ args: ['sh', '-c', 'cat; echo done'], openStdin: true });
  await rt.create(spec);
  const session = await rt.attach(spec.id, { stdin: true, stdout: true, stderr: true });
  const exited = waitExit(spec.id);
  await rt.start(spec.id);
  const outP = collect(session.output);
  session.input.end('piped\n');
  assert.equal(await exited, 0);
  assert.equal(demux(await outP).stdout, 'piped\ndone\n');
});

test('remove leaves nothing behind', async () => {
  const spec = newSpec({ args: ['sh', '-c', 'trap "exit 143" TERM; while true; do sleep 0.1; done'] });
  await rt.create(spec);
  await rt.start(spec.id);
  const exited = waitExit(spec.id);
  await rt.kill(spec.id, 'TERM');
  assert.equal(await exited, 143);
  await rt.remove(spec.id);
  assert.ok(!existsSync(rt.paths.bundle(spec.id)));
  assert.ok(!existsSync(rt.paths.layer(spec.id)));
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(spec.id));
  await assert.rejects(rt.status(spec.id), /No such container/);
});

test('a restarted daemon finds running containers and exits it missed', async () => {
  const spec = newSpec({ args: ['sh', '-c', 'echo tick; sleep 0.6; echo tock; exit 4'] });
  await rt.create(spec);
  await rt.start(spec.id);
  const follow = collect(rt.logs(spec.id, { follow: true, stdout: true, stderr: true, timestamps: false, tail: 'all', since: 0, until: 0 }, false));
  rt.close(); // "daemon" stops watching; conmon keeps the container
  const rt2 = new ConmonRuntime({ execRoot, dataRoot, images });
  const st = await rt2.status(spec.id);
  assert.equal(st.running, true);
  assert.ok(st.pid > 0);
  await new Promise((r) => setTimeout(r, 1000)); // exits while nobody watches
  const seen: [string, number][] = [];
  rt2.on('exit', (id: string, code: number) => seen.push([id, code]));
  await rt2.recover([spec.id]);
  assert.deepEqual(seen, [[spec.id, 4]]);
  await rt2.recover([spec.id]); // reported once per run
  assert.equal(seen.length, 1);
  assert.deepEqual(demux(await follow), { stdout: 'tick\ntock\n', stderr: '' });
  rt2.close();
  rt = new ConmonRuntime({ execRoot, dataRoot, images });
});
