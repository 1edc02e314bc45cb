import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';
import { worldAddresses } from './fixtures/dns-world.js';

// weft's DNS server on port 53 of gateway addresses inside a fresh network namespace (the test
// process stays in the host namespace; the server runs in a child started with nsenter), asked
// by c-ares (Node's dns.Resolver, bound to "container" source addresses) and busybox nslookup.

const fixture = fileURLToPath(new URL('./fixtures/dns-world.js', import.meta.url));
let ns: TestNetns;
let child: ChildProcess;
let nextId = 1;
const waiting = new Map<number, (v: Record<string, unknown>) => void>();
let stderr = '';

function ask(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    child.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
  });
}

const A = (from: string, name: string, server = '10.250.0.1') => ask({ op: 'resolve', from, server, name, type: 'A' });

before(async () => {
  ns = createTestNetns('wdns');
  for (const a of worldAddresses()) execFileSync('ip', ['-n', ns.name, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  child = ns.spawn(process.execPath, [fixture, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const rl = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fixture exited ${code}: ${stderr}`)));
    rl.on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.ready) return resolve();
      const w = waiting.get(msg.id as number);
      waiting.delete(msg.id as number);
      w?.(msg);
    });
  });
});

after(async () => {
  // End of stdin: the fixture closes its sockets and removes its temp database, then exits.
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    child.kill('SIGKILL');
  }
  ns?.destroy();
});

test('containers resolve names on their networks; other networks are not visible', async () => {
  assert.deepEqual((await A('10.250.0.2', 'alpine2')).answers, ['10.250.0.3']);
  assert.deepEqual((await A('10.250.0.2', 'ALPINE2.')).answers, ['10.250.0.3']);
  assert.deepEqual((await A('10.250.0.2', 'alpine2.n1')).answers, ['10.250.0.3']);
  assert.deepEqual((await A('10.250.0.2', 'alpine2.corp.test')).answers, ['10.250.0.3'], 'search domain suffix');
  assert.equal((await A('10.250.0.2', 'alpine3')).error, 'ENOTFOUND', 'alpine3 is on n2 only: upstream says NXDOMAIN');
  assert.deepEqual((await A('10.251.0.2', 'alpine3', '10.251.0.1')).answers, ['10.251.0.2']);
  assert.equal((await A('10.251.0.2', 'alpine1', '10.251.0.1')).error, 'ENOTFOUND');
});

test('a container on two networks resolves both, via either gateway', async () => {
  for (const server of ['10.250.0.1', '10.251.0.1']) {
    assert.deepEqual((await A('10.250.0.9', 'alpine1', server)).answers, ['10.250.0.2']);
    assert.deepEqual((await A('10.251.0.9', 'alpine3', server)).answers, ['10.251.0.2']);
  }
  assert.deepEqual((await A('10.251.0.2', 'both', '10.251.0.1')).answers, ['10.251.0.9']);
});

test('aliases round robin, AAAA empty, PTR, forwarded names, TCP', async () => {
  const firsts = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const r = (await A('10.250.0.2', 'web')).answers as string[];
    assert.deepEqual([...r].sort(), ['10.250.0.3', '10.250.0.4']);
    firsts.add(r[0]);
  }
  assert.equal(firsts.size, 2);
  assert.equal((await ask({ op: 'resolve', from: '10.250.0.2', server: '10.250.0.1', name: 'alpine2', type: 'AAAA' })).error, 'ENODATA');
  assert.deepEqual((await ask({ op: 'resolve', from: '10.250.0.2', server: '10.250.0.1', name: '10.250.0.3', type: 'PTR' })).answers, ['alpine2.n1']);
  assert.deepEqual((await A('10.250.0.2', 'ext.test')).answers, ['192.0.2.7']);
  assert.deepEqual((await ask({ op: 'resolve', from: '10.250.0.2', server: '10.250.0.1', name: 'ext.test', type: 'AAAA' })).answers, ['2001:db8::7']);
  assert.deepEqual((await A('10.250.0.2', 'big.test')).answers, ['192.0.2.8'], 'truncated upstream answer retried over TCP');
  assert.deepEqual(await ask({ op: 'tcp', from: '10.250.0.2', server: '10.250.0.1', name: 'alpine1', type: 'A' }), { id: nextId - 1, rcode: 'NOERROR', answers: ['10.250.0.2'] });
  const ext = await ask({ op: 'tcp', from: '10.250.0.2', server: '10.250.0.1', name: 'ext.test', type: 'A' });
  assert.deepEqual(ext.answers, ['192.0.2.7']);
});

test('busybox nslookup (a querier the table does not know: the receiving network is used)', () => {
  const out = ns.run('busybox', ['nslookup', 'alpine1', '10.250.0.1']);
  assert.match(out, /10\.250\.0\.2/);
  const ext = ns.run('busybox', ['nslookup', 'ext.test', '10.250.0.1']);
  assert.match(ext, /192\.0\.2\.7/);
});

test('disconnect removes the name at once', async () => {
  assert.deepEqual((await A('10.250.0.9', 'alpine3', '10.251.0.1')).answers, ['10.251.0.2']);
  await ask({ op: 'disconnect', container: 'both', network: 'n2' });
  assert.equal((await A('10.250.0.9', 'alpine3')).error, 'ENOTFOUND');
  assert.equal((await A('10.251.0.2', 'both', '10.251.0.1')).error, 'ENOTFOUND');
  const st = (await ask({ op: 'stats' })) as { dns: { local: number; forwarded: number } };
  assert.ok(st.dns.local > 10 && st.dns.forwarded > 3, JSON.stringify(st));
});
