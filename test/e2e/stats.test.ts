import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { startDaemon, weftdBuilt, runCmd, type Daemon } from '../helpers/daemons.js';
import { dockerChild, held, strayErrors, until } from '../helpers/clients.js';

// docker stats and docker top against weftd (issue 16): the numbers come from the kernel. Traffic
// between two containers must move NET I/O by what was sent, and every figure weftd reports must
// lie between the interface's own counters (sysfs in the container) read just before and just
// after; CPU %, memory and PIDs must be there as with dockerd; top lists the container's
// processes; dockerode and docker-py read the same stats.

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** docker's human sizes ("15.8MB", "1.2kB", "0B") in bytes (decimal units, as docker prints them). */
function bytesOf(s: string): number {
  const m = /^([\d.]+)\s*([kMGT]?)i?B$/.exec(s.trim());
  assert.ok(m, `not a size: ${s}`);
  return Number(m[1]) * { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] as '' | 'k']!;
}

describe('docker stats and docker top (weftd)', { skip: !weftdBuilt(), timeout: 120_000 }, () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon('weft');
    await d.dockerOk(['network', 'create', 'statsnet']);
    await d.dockerOk(['run', '-d', '--name', 'srv', '--network', 'statsnet', 'busybox', 'sh', '-c', `mkdir /www && dd if=/dev/zero of=/www/big bs=1M count=4 2>/dev/null && exec httpd -f -p 80 -h /www`]);
    await d.dockerOk(['run', '-d', '--name', 'cli', '--network', 'statsnet', 'busybox', 'sleep', '1000']);
  });
  after(() => d?.stop());

  const kernel = async (name: string) => {
    const out = await d.dockerOk(['exec', name, 'sh', '-c', 'cd /sys/class/net/eth0/statistics && cat rx_bytes tx_bytes rx_packets tx_packets']);
    const [rx, tx, rxp, txp] = out.split('\n').map(Number);
    return { rx, tx, rxp, txp };
  };
  const apiStats = async (name: string) => {
    const r = await d.api('GET', `/containers/${name}/stats?stream=false`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  test('NET I/O moves with traffic between two containers, within the kernel\'s own counters', async () => {
    const before = await kernel('srv');
    const first = await apiStats('srv');
    assert.ok(first.networks?.eth0, `networks.eth0 in ${JSON.stringify(first.networks)}`);
    // 3 x 4 MB from srv to cli over statsnet.
    for (let i = 0; i < 3; i++) await d.dockerOk(['exec', 'cli', 'sh', '-c', 'timeout 20 wget -qO /dev/null http://srv/big']);
    const k0 = await kernel('srv');
    const s = await apiStats('srv');
    const k1 = await kernel('srv');
    const eth0 = s.networks.eth0;
    for (const [key, k] of [['rx_bytes', 'rx'], ['tx_bytes', 'tx'], ['rx_packets', 'rxp'], ['tx_packets', 'txp']] as const) {
      assert.ok(eth0[key] >= k0[k] && eth0[key] <= k1[k], `${key} ${eth0[key]} not within the kernel's ${k0[k]}..${k1[k]}`);
    }
    assert.ok(eth0.tx_bytes - before.tx >= 12 * MB, `srv sent ${eth0.tx_bytes - before.tx} bytes, expected >= 12 MB`);
    for (const key of ['rx_errors', 'rx_dropped', 'tx_errors', 'tx_dropped']) assert.equal(typeof eth0[key], 'number', key);
    assert.deepEqual(Object.keys(s.networks), ['eth0'], 'only the endpoint, not lo');

    // The docker CLI's view: NET I/O as "rx / tx".
    const line = await d.dockerOk(['stats', '--no-stream', '--format', '{{.Name}}|{{.NetIO}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}', 'srv', 'cli']);
    const rows = Object.fromEntries(line.split('\n').map((l) => [l.split('|')[0], l.split('|').slice(1)]));
    const [netIO, cpu, mem, pids] = rows.srv;
    const [rx, tx] = netIO.split(' / ').map(bytesOf);
    const k2 = await kernel('srv');
    // The CLI prints three significant digits (22955 bytes shows as "23kB"): allow its rounding.
    const shown = (bytes: number) => bytes * 1.005 + 1;
    assert.ok(tx >= 12e6 && tx <= shown(k2.tx), `NET I/O tx ${netIO} vs kernel ${k2.tx}`);
    assert.ok(rx > 0 && rx <= shown(k2.rx), `NET I/O rx ${netIO} vs kernel ${k2.rx}`);
    assert.match(cpu, /^\d+\.\d\d%$/);
    const [used, limit] = mem.split(' / ');
    assert.ok(bytesOf(used) > 0 && bytesOf(limit) > bytesOf(used), `MEM ${mem}`);
    assert.equal(Number(pids), 1, 'srv runs httpd alone');
    const [cliRx] = rows.cli[0].split(' / ').map(bytesOf);
    assert.ok(cliRx >= 12e6, `cli received ${rows.cli[0]}`);
    // weft stats prints the same figures (read again: allow the few bytes of ARP in between).
    const w = await d.weft(['stats', '--no-stream', '--format', '{{.Name}}|{{.NetIO}}|{{.PIDs}}', 'srv', 'cli']);
    assert.equal(w.code, 0, w.stderr);
    const wrows = Object.fromEntries(w.stdout.trim().split('\n').map((l) => [l.split('|')[0], l.split('|').slice(1)]));
    for (const name of ['srv', 'cli']) {
      assert.equal(wrows[name][1], rows[name][3], `${name} PIDs`);
      const [a, b] = [wrows[name][0], rows[name][0]].map((x) => x.split(' / ').map(bytesOf));
      assert.ok(Math.abs(a[0] - b[0]) <= Math.max(2e3, b[0] * 0.01) && Math.abs(a[1] - b[1]) <= Math.max(2e3, b[1] * 0.01), `weft stats NET I/O ${wrows[name][0]}, docker stats ${rows[name][0]}`);
    }
    const header = async (run: (a: string[]) => Promise<{ stdout: string }>) => (await run(['stats', '--no-stream', 'srv'])).stdout.split('\n')[0].split(/\s{2,}/);
    assert.deepEqual(await header((a) => d.weft(a)), await header((a) => d.docker(a)));
    console.log(`# stats: srv NET I/O ${netIO}, kernel rx ${k2.rx} tx ${k2.tx}; CPU ${cpu}, MEM ${mem}, PIDs ${pids}`);
  });

  test('CPU, memory and PIDs come from the container\'s cgroup', async () => {
    // A busy loop for ~1.5 s, and three more processes while it runs.
    await d.dockerOk(['exec', '-d', 'cli', 'sh', '-c', 'sleep 30 & sleep 30 & i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done']);
    await sleep(300);
    const s = await apiStats('cli');
    assert.ok(s.pids_stats.current >= 3, `pids ${JSON.stringify(s.pids_stats)}`);
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
    const sysDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
    assert.ok(cpuDelta > 0.2e9, `the busy loop used ${cpuDelta} ns in the sampled second`);
    assert.ok(sysDelta > 0 && s.cpu_stats.online_cpus >= 1, JSON.stringify(s.cpu_stats));
    assert.ok(s.memory_stats.usage > 0 && s.memory_stats.limit > s.memory_stats.usage, JSON.stringify(s.memory_stats).slice(0, 200));
    assert.ok(Object.keys(s.memory_stats.stats).length > 5, 'memory.stat keys');
    assert.equal(s.name, '/cli');
    assert.notEqual(s.preread, '0001-01-01T00:00:00Z');
    assert.ok(Date.parse(s.read) - Date.parse(s.preread) >= 900, `${s.preread} .. ${s.read}`);
    const one = (await d.api('GET', '/containers/cli/stats?stream=false&one-shot=true')).json;
    assert.equal(one.preread, '0001-01-01T00:00:00Z', 'one-shot: no previous sample');
  });

  test('streaming: one sample a second, ended by the client', async () => {
    const dk = new Docker({ socketPath: d.socket });
    const stream = (await dk.getContainer('srv').stats({ stream: true })) as NodeJS.ReadableStream & { destroy(): void };
    const frames: any[] = [];
    let buf = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (b: Buffer) => {
        buf += b.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          frames.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        if (frames.length >= 3) resolve();
      });
    });
    stream.destroy();
    assert.equal(frames[0].preread, '0001-01-01T00:00:00Z');
    assert.equal(frames[1].preread, frames[0].read);
    assert.deepEqual(frames[2].precpu_stats, frames[1].cpu_stats);
    const gap = Date.parse(frames[2].read) - Date.parse(frames[1].read);
    assert.ok(gap >= 900 && gap < 3000, `samples ${gap} ms apart`);
    const oneShot = await dk.getContainer('srv').stats({ stream: false });
    assert.ok((oneShot as any).networks.eth0.tx_bytes > 0);
  });

  test('docker stats (streaming CLI) shows the containers, and leaves nothing behind when killed', async () => {
    const pid = d.pid()!;
    const before = held(pid, d.socket).fds;
    const cli = dockerChild(d, ['stats', '--format', '{{.Name}} {{.PIDs}}', 'srv', 'cli'], { stdin: 'ignore' });
    assert.ok(await until(() => /srv 1/.test(cli.output()) && /cli \d/.test(cli.output()), 15_000), `docker stats printed: ${cli.output()}`);
    cli.child.kill('SIGKILL');
    await cli.exited;
    assert.ok(await until(() => held(pid, d.socket).fds <= before, 5_000), `weftd holds ${held(pid, d.socket).fds} fds, ${before} before`);
    assert.deepEqual(strayErrors(d), []);
  });

  test('docker-py reads the same stats', async () => {
    const py = `import docker,json\nc=docker.DockerClient(base_url='unix://${d.socket}')\ns=c.containers.get('srv').stats(stream=False)\nprint(json.dumps([s['networks']['eth0']['tx_bytes'], s['pids_stats']['current'], s['memory_stats']['usage']>0]))`;
    const r = await runCmd('python3', ['-c', py]);
    assert.equal(r.code, 0, r.stderr);
    const [tx, pids, mem] = JSON.parse(r.stdout);
    assert.ok(tx >= 12 * MB && pids === 1 && mem === true, r.stdout);
  });

  test('docker top lists the container\'s processes, with ps arguments', async () => {
    const t = await d.dockerOk(['top', 'srv']);
    const lines = t.split('\n');
    assert.match(lines[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD/);
    assert.equal(lines.length, 2, t);
    assert.match(lines[1], /httpd -f -p 80 -h \/www$/);
    const pid = Number(lines[1].trim().split(/\s+/)[1]);
    const inspect = JSON.parse(await d.dockerOk(['inspect', 'srv']))[0];
    assert.equal(pid, inspect.State.Pid, 'the PID is the host\'s');
    for (const args of [['srv'], ['srv', '-o', 'pid,comm'], ['srv', '-o', 'user,pid,args']]) {
      const w = await d.weft(['top', ...args]);
      const dk = await d.docker(['top', ...args]);
      assert.equal(w.stdout, dk.stdout, `weft top ${args.join(' ')} prints what docker top prints`);
    }
    const aux = await d.dockerOk(['top', 'cli', 'aux']);
    assert.match(aux.split('\n')[0], /USER\s+PID\s+%CPU\s+%MEM/);
    assert.ok(aux.split('\n').some((l) => / sleep 1000$/.test(l)), aux);
    const dk = new Docker({ socketPath: d.socket });
    const top = await dk.getContainer('srv').top({ ps_args: '-o pid,comm' });
    assert.deepEqual(top.Titles, ['PID', 'COMMAND']);
    assert.deepEqual(top.Processes, [[String(pid), 'httpd']]);
    await d.dockerOk(['stop', '-t', '1', 'cli']);
    const stopped = await d.api('GET', '/containers/cli/top');
    assert.equal(stopped.status, 409);
    assert.match(stopped.json.message, /is not running/);
    const bad = await d.api('GET', `/containers/srv/top?ps_args=${encodeURIComponent('-o user= PID')}`);
    assert.equal(bad.status, 400, bad.text);
    const empty = await apiStats('cli');
    assert.equal(empty.read, '0001-01-01T00:00:00Z', 'a stopped container: empty stats');
  });
});

