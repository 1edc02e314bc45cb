import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../../src/api/router.js';
import { createApiServer } from '../../src/api/server.js';
import { statsRoutes } from '../../src/api/routes/stats.js';
import { createLogger } from '../../src/common/log.js';
import type { Engine } from '../../src/engine/engine.js';
import { parseProcCgroup } from '../../src/runtime/stats/cgroup.js';
import { keyValues, parseNetDev, systemCpuUsage, type Sample } from '../../src/runtime/stats/sample.js';
import { parsePsOutput, validatePsArgs } from '../../src/runtime/stats/top.js';

// The pure parts of stats and top (cgroup placement, /proc/net/dev, ps output), and the stream's
// end: a client that leaves stops the sampling within a second.

test('cgroup placement: v1/hybrid controllers and pure v2, from /proc/<pid>/cgroup', () => {
  const v1 = { v1: new Map([['memory', '/sys/fs/cgroup/memory'], ['cpuacct', '/sys/fs/cgroup/cpuacct'], ['cpu', '/sys/fs/cgroup/cpu'], ['pids', '/sys/fs/cgroup/pids']]), v2: '/sys/fs/cgroup/unified', v2Controllers: new Set<string>() };
  const d1 = parseProcCgroup('4:memory:/weft/abc\n2:cpu,cpuacct:/weft/abc\n8:pids:/weft/abc\n0::/weft/abc\n', v1);
  assert.equal(d1.version, 1);
  assert.equal(d1.controllers.get('memory'), '/sys/fs/cgroup/memory/weft/abc');
  assert.equal(d1.controllers.get('cpuacct'), '/sys/fs/cgroup/cpuacct/weft/abc');
  const v2 = { v1: new Map(), v2: '/sys/fs/cgroup', v2Controllers: new Set(['cpu', 'memory', 'pids']) };
  const d2 = parseProcCgroup('0::/weft/abc\n', v2);
  assert.deepEqual([d2.version, d2.unified], [2, '/sys/fs/cgroup/weft/abc']);
});

test('/proc/<pid>/net/dev: the endpoints\' counters, without lo', () => {
  const t = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0: 12603081    1500    1    2    0     0          0         0  18221     300    3    4    0     0       0          0
`;
  const keep = (n: string) => n !== 'lo';
  assert.deepEqual(parseNetDev(t, keep), { eth0: { rx_bytes: 12603081, rx_packets: 1500, rx_errors: 1, rx_dropped: 2, tx_bytes: 18221, tx_packets: 300, tx_errors: 3, tx_dropped: 4 } });
  assert.equal(systemCpuUsage('cpu  10 1 5 100 2 0 3 7 0 0\ncpu0 1 1 1 1\n'), 121 * 1e7);
  assert.deepEqual(keyValues('cache 10\nrss 20\n'), { cache: 10, rss: 20 });
});

test('ps output: only the container\'s PIDs, thread lines follow their process, CMD keeps its spaces', () => {
  const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 09:00 ? 00:00:01 /sbin/init\nroot 42 10 0 09:01 ? 00:00:00 httpd -f -p 80\nroot - - 0 09:01 - 00:00:00 -\nroot 43 1 0 09:01 ? 00:00:00 other\n';
  const r = parsePsOutput(out, [42]);
  assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(r.Processes, [['root', '42', '10', '0', '09:01', '?', '00:00:00', 'httpd -f -p 80'], ['root', '-', '-', '0', '09:01', '-', '00:00:00', '-']]);
  assert.throws(() => parsePsOutput('USER COMMAND\nroot x\n', [1]), /Couldn't find PID field/);
  assert.equal(validatePsArgs('-o pid,comm'), null);
  assert.equal(validatePsArgs('-o user= PID'), 'specifying "user=PID" is not allowed');
});

test('a stats stream ends when its client goes away', { timeout: 20_000 }, async (t) => {
  const c = { id: 'c'.repeat(64), name: 'one', state: { status: 'running', pid: process.pid }, networks: [] };
  const engine = {
    registry: { findContainer: () => c, containers: { byId: new Map([[c.id, c]]) }, endpointsOfContainer: () => [{ ifname: 'eth0' }] },
    sandboxes: { kind: () => 'interface' },
  } as unknown as Engine;
  let reads = 0;
  const sampler = async (): Promise<Sample> => {
    reads++;
    return { cpu_stats: { cpu_usage: { total_usage: reads, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } }, memory_stats: {}, pids_stats: { current: 1 }, blkio_stats: { io_service_bytes_recursive: [] }, networks: {} };
  };
  const router = new Router();
  statsRoutes(router, engine, sampler);
  const dir = mkdtempSync(join(tmpdir(), 'weft-stats-'));
  const sock = join(dir, 's.sock');
  const server = createApiServer(router, createLogger({ level: 'error' }));
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const frames: any[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath: sock, path: '/containers/one/stats', agent: false }, (res) => {
      let buf = '';
      res.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        frames.push(...lines.map((l) => JSON.parse(l)));
        if (frames.length >= 2) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (e) => (frames.length >= 2 ? undefined : reject(e)));
    req.end();
  });
  assert.equal(frames[1].precpu_stats.cpu_usage.total_usage, frames[0].cpu_stats.cpu_usage.total_usage);
  await new Promise((r) => setTimeout(r, 300));
  const atClose = reads;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(reads, atClose, `the stream kept sampling after its client left (${atClose} -> ${reads})`);
});

test('weft stats rows: docker\'s CPU %, memory without inactive file cache, decimal I/O, binary memory', async () => {
  const { statsRow, bytesSize } = await import('../../src/cli/commands/stats.js');
  const s = {
    id: 'a'.repeat(64),
    name: '/web',
    cpu_stats: { cpu_usage: { total_usage: 3e9, percpu_usage: [1, 2] }, system_cpu_usage: 20e9, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 2e9 }, system_cpu_usage: 10e9 },
    memory_stats: { usage: 10 * 1024 * 1024, limit: 1024 ** 3, stats: { total_inactive_file: 2 * 1024 * 1024 } },
    networks: { eth0: { rx_bytes: 1500, tx_bytes: 12_600_000 }, eth1: { rx_bytes: 500, tx_bytes: 0 } },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 4096 }, { op: 'Write', value: 1e6 }] },
    pids_stats: { current: 3 },
  };
  const r = statsRow(s, 'web', false);
  assert.deepEqual(r, { ID: 'aaaaaaaaaaaa', Name: 'web', Container: 'web', CPUPerc: '20.00%', MemUsage: '8MiB / 1GiB', MemPerc: '0.78%', NetIO: '2kB / 12.6MB', BlockIO: '4.1kB / 1MB', PIDs: '3' });
  assert.equal(bytesSize(4_574_822), '4.363MiB');
});
