import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Daemon } from '../../test/helpers/daemons.js';
import { startSwarmLab, type SwarmLab } from '../../test/helpers/swarm-lab.js';

// The overlay's two numbers (issue 14), on a two-host test underlay (namespaces, one weftd each):
//  1. reach-by-name: from `docker run` on host B until a container on host A pings it by name
//     (a loop of ping in A's container is already running when the run starts);
//  2. throughput: iperf3 (the host's binary, run in the containers' network namespaces) across the
//     VXLAN between the hosts vs across a plain bridge on one host.
//
//   node dist/bench/overlay/run.js [--trials N] [--seconds S]

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRIALS = arg('trials', 5);
const SECONDS = arg('seconds', 5);

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function sandbox(d: Daemon, name: string): Promise<string> {
  return d.dockerOk(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', name]);
}

/** iperf3 from one container's namespace to a server in another's; Gbit/s. */
async function iperf(serverNs: string, clientNs: string, serverIp: string): Promise<number> {
  const server = spawn('nsenter', [`--net=${serverNs}`, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const r = await run('nsenter', [`--net=${clientNs}`, 'iperf3', '-c', serverIp, '-t', String(SECONDS), '-J']);
    if (r.code !== 0) throw new Error(`iperf3: ${r.stderr || r.stdout}`);
    const j = JSON.parse(r.stdout);
    return j.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill('SIGKILL');
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const lab: SwarmLab = await startSwarmLab(2);
  const [a, b] = lab.daemons;
  try {
    await a.dockerOk(['swarm', 'init', '--advertise-addr', lab.hosts[0].addr]);
    const token = await a.dockerOk(['swarm', 'join-token', '-q', 'worker']);
    await b.dockerOk(['swarm', 'join', '--token', token, `${lab.hosts[0].addr}:2377`]);
    await a.dockerOk(['network', 'create', '-d', 'overlay', '--attachable', 'bench-ov']);
    await a.dockerOk(['run', '-d', '--name', 'pinger', '--network', 'bench-ov', 'busybox', 'sleep', '1d']);
    const reach: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const name = `target${i}`;
      let reached = 0;
      const loop = run('docker', ['exec', 'pinger', 'sh', '-c', `until ping -c1 -W1 ${name} >/dev/null 2>&1; do usleep 10000; done`], a.env).then((r) => {
        reached = performance.now();
        if (r.code !== 0) throw new Error(`ping loop: ${r.stderr}`);
      });
      await new Promise((r) => setTimeout(r, 300)); // the loop is running
      const t0 = performance.now();
      await b.dockerOk(['run', '-d', '--name', name, '--network', 'bench-ov', 'busybox', 'sleep', '1d']);
      const ran = performance.now();
      await loop;
      if (reached < t0 + 1) throw new Error('the ping loop ended before the run started');
      const t1 = reached;
      reach.push(t1 - t0);
      process.stderr.write(`reach #${i}: ${(t1 - t0).toFixed(0)} ms (docker run itself ${(ran - t0).toFixed(0)} ms)\n`);
    }
    // Throughput: across the VXLAN (pinger on A -> target0 on B), then a plain bridge on A.
    const ovIp = await b.dockerOk(['inspect', '-f', '{{(index .NetworkSettings.Networks "bench-ov").IPAddress}}', 'target0']);
    const vxlan = await iperf(await sandbox(b, 'target0'), await sandbox(a, 'pinger'), ovIp);
    await a.dockerOk(['network', 'create', 'bench-br']);
    await a.dockerOk(['run', '-d', '--name', 'br1', '--network', 'bench-br', 'busybox', 'sleep', '1d']);
    await a.dockerOk(['run', '-d', '--name', 'br2', '--network', 'bench-br', 'busybox', 'sleep', '1d']);
    const brIp = await a.dockerOk(['inspect', '-f', '{{(index .NetworkSettings.Networks "bench-br").IPAddress}}', 'br2']);
    const bridge = await iperf(await sandbox(a, 'br2'), await sandbox(a, 'br1'), brIp);
    const result = {
      date: new Date().toISOString(),
      trials: TRIALS,
      reachByNameMs: { median: Math.round(median(reach)), all: reach.map((x) => Math.round(x)) },
      iperf3Gbps: { vxlan: Number(vxlan.toFixed(2)), bridge: Number(bridge.toFixed(2)), ratio: Number((vxlan / bridge).toFixed(3)) },
    };
    const out = join(REPO_ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'overlay.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    for (const d of [b, a]) await d.docker(['rm', '-f', ...['pinger', 'br1', 'br2', ...Array.from({ length: TRIALS }, (_, i) => `target${i}`)]]).catch(() => undefined);
    await lab.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
