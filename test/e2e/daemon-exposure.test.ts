import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { daemonKinds, runCmd, startDaemon, WEFTD_MAIN, WEFTD_NODE_FLAGS, type Daemon } from '../helpers/daemons.js';
import { createTestNetns } from '../helpers/netns.js';

// What of weftd a container (or a local user) can reach. The API socket: root:weft (or -G),
// 0660, so only root and that group connect, and it is in no container's mount namespace. weftd
// listens on nothing but DNS (port 53 on user-defined networks' gateways), and that DNS answers
// a container with the names of its own networks only. Other host services bound to 0.0.0.0 are
// reachable from containers through the gateway, as with Docker (compared on dockerd too).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects to a unix socket as another user (node under setpriv): 'connected' or the errno code. */
async function connectAs(socket: string, uid: number, gid: number): Promise<string> {
  const js = `require('net').connect(${JSON.stringify(socket)}).on('connect',function(){console.log('connected');this.destroy()}).on('error',e=>console.log(e.code))`;
  const r = await runCmd('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '-e', js]);
  return r.stdout.trim() || r.stderr.trim();
}

/** Sockets of a process and its children that listen (TCP) or are bound (UDP), from their namespace's /proc/net. */
function listeners(pid: number): string[] {
  const pids = [pid, ...readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  })];
  const inodes = new Set<string>();
  for (const p of pids) {
    for (const fd of readdirSync(`/proc/${p}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  const out: string[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${proto}`, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (!inodes.has(f[9]) || (proto.startsWith('tcp') && f[3] !== '0A')) continue;
      const [addr, port] = f[1].split(':');
      out.push(`${proto.slice(0, 3)} ${hexAddr(addr)}:${parseInt(port, 16)}`);
    }
  }
  return out.sort();
}

function hexAddr(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(''));
  if (words.length === 1) return words[0].match(/../g)!.map((b) => parseInt(b, 16)).join('.');
  return words.join('').match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

describe('what of weftd can be reached (weft)', { timeout: 600_000 }, () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon('weft');
  });
  after(async () => {
    await d?.stop();
  });

  test('the API socket is root-owned, mode 0660; other users cannot connect', async () => {
    const st = statSync(d.socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 0, 'no weft group on this machine: root group, as dockerd without a docker group');
    assert.match(readFileSync(d.logFile, 'utf8'), /could not change group \S+ to weft: group weft not found/);
    assert.equal(await connectAs(d.socket, 0, 0), 'connected');
    assert.equal(await connectAs(d.socket, 65534, 65534), 'EACCES', 'nobody is refused');
  });

  test('-G <group> gives that group the socket; a group that does not exist stops weftd before it starts', async () => {
    const g = await startDaemon('weft', { extraArgs: ['-G', '4242'] });
    try {
      assert.equal(statSync(g.socket).gid, 4242);
      assert.equal(await connectAs(g.socket, 65534, 4242), 'connected', 'a member of the group connects');
      assert.equal(await connectAs(g.socket, 65534, 65534), 'EACCES');
    } finally {
      await g.stop();
    }
    const ns = createTestNetns('wg');
    try {
      const child = ns.spawn(process.execPath, [...WEFTD_NODE_FLAGS, WEFTD_MAIN, '-G', 'no-such-group-x', '-H', 'unix:///run/wg-none/s.sock', '--data-root', '/tmp/wg-none', '--exec-root', '/run/wg-none'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 1);
      assert.equal(stderr, 'weftd: failed to load listeners: group no-such-group-x not found\n');
      assert.throws(() => statSync('/run/wg-none'), 'nothing was created');
    } finally {
      ns.destroy();
    }
  });

  test('a container has no way to the socket: only its three files are mounted from the host', async () => {
    await d.dockerOk(['network', 'create', '--subnet', '10.230.0.0/24', 'ua']);
    const mounts = await d.dockerOk(['run', '--rm', '--network', 'ua', 'busybox', 'cat', '/proc/self/mountinfo']);
    const lines = mounts.split('\n').map((l) => l.split(' '));
    const devId = lines.find((f) => f[4] === '/dev')![2];
    for (const f of lines) {
      const [root, point] = [f[3], f[4]];
      const fstype = f[f.indexOf('-') + 1];
      const ok = root === '/' || fstype === 'proc' || fstype === 'cgroup' || (root === '/null' && f[2] === devId) || ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'].includes(point);
      assert.ok(ok, `unexpected mount in the container: ${f.join(' ')}`);
    }
    assert.equal(await d.dockerOk(['run', '--rm', '--network', 'ua', 'busybox', 'find', '/', '-xdev', '-type', 's']), '', 'no unix socket in its filesystem');
    assert.notEqual((await d.docker(['run', '--rm', 'busybox', 'test', '-e', d.socket])).code, 0);
  });

  test('weftd listens on nothing but DNS on the gateways; a container reaches DNS there and no API port', async () => {
    await d.dockerOk(['network', 'create', '--subnet', '10.231.0.0/24', 'ub']);
    await d.dockerOk(['run', '-d', '--name', 'b1', '--network', 'ub', 'busybox', 'sleep', '300']);
    await d.dockerOk(['run', '-d', '--name', 'a1', '--network', 'ua', 'busybox', 'sleep', '300']);
    await d.dockerOk(['run', '-d', '--name', 'a2', '--network', 'ua', 'busybox', 'sleep', '300']);
    let found: string[] = [];
    for (let i = 0; i < 50; i++) {
      found = listeners(d.pid()!);
      if (found.length === 4) break;
      await sleep(100);
    }
    assert.deepEqual(found, ['tcp 10.230.0.1:53', 'tcp 10.231.0.1:53', 'udp 10.230.0.1:53', 'udp 10.231.0.1:53']);
    // busybox nc sends a newline and exits 0 once connected; refused or timed out (-w 2), it exits 1.
    const probe = async (port: number) => (await d.docker(['exec', 'a1', 'sh', '-c', `echo | nc -w 2 10.230.0.1 ${port}`])).code;
    assert.equal(await probe(53), 0, 'DNS over TCP on the gateway');
    for (const port of [2375, 2376, 80, 8080]) assert.notEqual(await probe(port), 0, `nothing on ${port}`);
    // Not DNS on the DNS port: the connection is dropped and weftd carries on.
    await d.docker(['exec', 'a1', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 10.230.0.1 53']);
    assert.equal((await d.api('GET', '/_ping')).status, 200);
  });

  test("a container resolves its own networks' names, not another network's through that network's gateway", async () => {
    const own = await d.docker(['exec', 'a1', 'nslookup', 'a2', '10.230.0.1']);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /Address: 10\.230\.0\.\d+/);
    const other = await d.docker(['exec', 'b1', 'nslookup', 'a2', '10.230.0.1']);
    assert.doesNotMatch(other.stdout, /Address: 10\.230\.0\.(?!1\b)\d+/, 'b1 is not on ua: a2 is not its name to resolve');
    assert.match(other.stdout + other.stderr, /can't find a2/, 'the server answered (it was reached), without the name');
    await d.dockerOk(['rm', '-f', 'a1', 'a2', 'b1']);
  });
});

// Docker does not firewall containers from the host: a service on 0.0.0.0 answers them at the
// gateway address. weft does the same (its README says so); one on 127.0.0.1 stays unreachable.
for (const kind of daemonKinds()) {
  test(`host services are reachable through the gateway as with Docker (${kind})`, { timeout: 120_000 }, async (t) => {
    const d = await startDaemon(kind);
    const servers = [
      d.netns.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>s.end('any')).listen(7777,'0.0.0.0')"], { stdio: 'ignore' }),
      d.netns.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>s.end('lo')).listen(7778,'127.0.0.1')"], { stdio: 'ignore' }),
    ];
    t.after(async () => {
      for (const s of servers) s.kill('SIGKILL');
      await d.stop();
    });
    await d.dockerOk(['run', '-d', '--name', 'c1', 'busybox', 'sleep', '300']);
    const gw = await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.Gateway}}', 'c1']);
    const get = async (port: number) => {
      const r = await d.docker(['exec', 'c1', 'timeout', '3', 'wget', '-qO-', `http://${gw}:${port}/`]);
      return r.code === 0 ? r.stdout.trim() : '';
    };
    let any = '';
    for (let i = 0; i < 20 && !(any = await get(7777)); i++) await sleep(200);
    assert.equal(any, 'any', 'a service on 0.0.0.0 answers at the gateway');
    assert.equal(await get(7778), '', 'a service on 127.0.0.1 does not');
  });
}
