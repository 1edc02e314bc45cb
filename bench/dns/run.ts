import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestNetns } from '../../test/helpers/netns.js';
import { parseSummary } from './engines.js';
import { worldAddresses } from '../../test/integration/fixtures/dns-world.js';

// dnsperf against weft's DNS server in a fresh network namespace: the server (and a stub
// upstream for the one forwarded name) runs in a child inside it, dnsperf is nsenter'ed in
// and sends from a "container" address. Usage:
//   node dist/bench/dns/run.js [--seconds 10] [--clients 4] [--cpu-prof DIR] [--json FILE]
// Two runs: a plain one (qps, average latency) and a verbose one (-v, per-query latencies for
// p50/p99; printing costs dnsperf some throughput, so its qps is not the headline).


function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}


function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const seconds = arg('seconds', '10');
  const clients = arg('clients', '4');
  const cpuProf = arg('cpu-prof', '');
  const jsonOut = arg('json', '');
  execFileSync('dnsperf', ['-h'], { stdio: 'ignore' }); // fails early when dnsperf is missing (apt-get install dnsperf)
  const fixture = fileURLToPath(new URL('../../test/integration/fixtures/dns-world.js', import.meta.url));
  const ns = createTestNetns('wdnsb');
  const dir = mkdtempSync(join(tmpdir(), 'weft-dnsbench-'));
  try {
    for (const a of worldAddresses()) execFileSync('ip', ['-n', ns.name, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
    const child = ns.spawn(process.execPath, [...nodeArgs, fixture, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      rl.once('line', () => resolve());
    });
    // The mix: container names (A, a few AAAA → empty NOERROR, an alias with two members, the
    // other network's name via "both") and one external name answered by the stub upstream.
    const queries = [
      'alpine1 A', 'alpine2 A', 'web A', 'alpine4 A', 'both A', 'alpine1 AAAA', 'alpine2.n1 A', 'ALPINE4 A',
      'alpine1 A', 'web A', 'both AAAA', 'alpine2 A', '3.0.250.10.in-addr.arpa PTR', 'alpine4 A', 'web A', 'alpine1 A',
      'alpine2 A', 'alpine3 A', 'both A', 'ext.test A',
    ];
    const qfile = join(dir, 'queries.txt');
    writeFileSync(qfile, queries.join('\n') + '\n');
    const dnsperf = (extra: string[]) =>
      execFileSync('nsenter', [`--net=${ns.path}`, 'dnsperf', '-s', '10.250.0.1', '-a', '10.250.0.9', '-d', qfile, '-c', clients, '-l', seconds, '-q', '100', ...extra], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
    dnsperf(['-l', '2']); // warm-up (JIT), not reported
    const plain = parseSummary(dnsperf([]));
    const vfile = join(dir, 'verbose.txt');
    writeFileSync(vfile, dnsperf(['-v']));
    const verboseText = readFileSync(vfile, 'utf8');
    const verbose = parseSummary(verboseText);
    // -v lines: "> NOERROR alpine1 A 0.000123" (status, query, latency in seconds last).
    const lat: number[] = [];
    for (const line of verboseText.split('\n')) {
      if (!line.startsWith('>')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1000);
    }
    const sorted = Float64Array.from(lat).sort();
    const result = {
      clients: Number(clients),
      seconds: Number(seconds),
      plain,
      verbose: { ...verbose, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), samples: sorted.length },
    };
    const stats = await new Promise<string>((resolve) => {
      rl.once('line', (l) => resolve(l));
      child.stdin!.write(JSON.stringify({ id: 1, op: 'stats' }) + '\n');
    });
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
    console.log(`dnsperf -c ${clients} -l ${seconds}: ${plain.qps.toFixed(0)} qps, avg ${plain.avgMs.toFixed(3)} ms, lost ${plain.lost}/${plain.sent}`);
    console.log(
      `with -v: ${verbose.qps.toFixed(0)} qps, avg ${verbose.avgMs.toFixed(3)} ms, p50 ${result.verbose.p50Ms.toFixed(3)} ms, p99 ${result.verbose.p99Ms.toFixed(3)} ms (${sorted.length} samples)`,
    );
    const s = JSON.parse(stats) as { dns: Record<string, unknown> };
    console.log(`server: ${JSON.stringify({ queries: s.dns.queries, local: s.dns.local, forwarded: s.dns.forwarded, upstream: s.dns.upstream })}`);
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    ns.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
