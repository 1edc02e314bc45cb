import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type Daemon, type DaemonKind } from '../../test/helpers/daemons.js';
import { api, ENGINE_KINDS, ENGINE_LABEL, errMsg, fmtMs, ratio } from '../lib.js';

// dnsperf against each engine's embedded DNS, from inside a container's network namespace
// (nsenter --net=/proc/<pid>/ns/net, pid from inspect .State.Pid), at the nameserver the engine
// wrote into that container's resolv.conf: 127.0.0.11 (dockerd), the network gateway
// (aardvark-dns for podman, weft). Same query mix everywhere: container names and an alias with
// two members on one user network, A and AAAA (no IPv6 on the network: empty NOERROR).

const execFileP = promisify(execFile);

export interface DnsRun {
  qps: number;
  avgMs: number;
  lost: number;
  sent: number;
  rcodes: string;
}

export interface DnsEngineResult {
  kind: DaemonKind;
  error?: string;
  server?: string;
  clients: number;
  seconds: number;
  plain?: DnsRun;
  verbose?: DnsRun & { p50Ms: number; p99Ms: number; samples: number };
}

export const DNS_QUERIES = ['c1 A', 'c2 A', 'web A', 'c3 A', 'c4 A', 'c1 AAAA', 'web A', 'c2 A', 'C3 A', 'c4 A'];

/** dnsperf's closing summary. */
export function parseSummary(out: string): DnsRun {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
  };
}

export async function dnsEngine(kind: DaemonKind, opts: { seconds: number; clients: number }): Promise<DnsEngineResult> {
  const res: DnsEngineResult = { kind, clients: opts.clients, seconds: opts.seconds };
  let d: Daemon;
  try {
    d = await startDaemon(kind);
  } catch (err) {
    return { ...res, error: errMsg(err) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'weft-dnseng-'));
  try {
    await api(d, 'POST', '/networks/create', { Name: 'dnsnet', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.99.0.0/24' }] } });
    const run = async (name: string, aliases: string[] = []) => {
      const c = await api(d, 'POST', `/containers/create?name=${name}`, {
        Image: 'alpine',
        Cmd: ['sleep', '3600'],
        HostConfig: { NetworkMode: 'dnsnet' },
        NetworkingConfig: { EndpointsConfig: { dnsnet: { Aliases: aliases } } },
      });
      await api(d, 'POST', `/containers/${c.Id}/start`);
      return c.Id as string;
    };
    await run('c1');
    await run('c2', ['web']);
    await run('c3', ['web']);
    await run('c4');
    const client = await run('client');
    const info = await api(d, 'GET', `/containers/${client}/json`);
    const pid = Number(info.State.Pid);
    if (!pid) throw new Error(`no pid for the client container: ${JSON.stringify(info.State)}`);
    const resolv = readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8');
    const server = /^nameserver\s+(\S+)/m.exec(resolv)?.[1];
    if (!server) throw new Error(`no nameserver in the client's resolv.conf:\n${resolv}`);
    res.server = server;
    const qfile = join(dir, 'queries.txt');
    writeFileSync(qfile, DNS_QUERIES.join('\n') + '\n');
    const dnsperf = async (extra: string[], seconds: number) =>
      (
        await execFileP('nsenter', [`--net=/proc/${pid}/ns/net`, 'dnsperf', '-s', server, '-d', qfile, '-c', String(opts.clients), '-l', String(seconds), '-q', '100', ...extra], {
          encoding: 'utf8',
          maxBuffer: 1 << 30,
        })
      ).stdout;
    await dnsperf([], Math.min(2, opts.seconds)); // warm-up (JIT, caches), not reported
    res.plain = parseSummary(await dnsperf([], opts.seconds));
    const vtext = await dnsperf(['-v'], opts.seconds);
    const lat: number[] = [];
    for (const line of vtext.split('\n')) {
      if (!line.startsWith('>')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1000);
    }
    const sorted = Float64Array.from(lat).sort();
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
    res.verbose = { ...parseSummary(vtext), p50Ms: pct(50), p99Ms: pct(99), samples: sorted.length };
  } catch (err) {
    res.error = errMsg(err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await d.stop().catch((err) => console.error(`[bench] dns ${kind}: ${err instanceof Error ? err.message : err}`));
  }
  return res;
}

export function renderDns(results: DnsEngineResult[]): string {
  const weft = results.find((r) => r.kind === 'weft');
  const lines = [
    `Query mix (${DNS_QUERIES.length} lines, cycled): ${DNS_QUERIES.map((q) => '`' + q + '`').join(', ')}. dnsperf -c ${results[0]?.clients} -q 100, ${results[0]?.seconds} s per run, after a 2 s warm-up; qps from the plain run, p50/p99 from a second run with -v (per-query latencies; printing lowers its qps).`,
    '',
    '| engine | server | qps | avg ms | lost | response codes | p50 ms (-v run) | p99 ms (-v run) | weft qps / engine qps |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const k of ENGINE_KINDS) {
    const r = results.find((x) => x.kind === k);
    if (!r) continue;
    const p = r.plain;
    const v = r.verbose;
    const inv = weft?.plain && p && k !== 'weft' ? ratio(weft.plain.qps, p.qps) : '-';
    lines.push(`| ${ENGINE_LABEL[k]} | ${r.server ?? '-'} | ${p ? p.qps.toFixed(0) : 'error'} | ${fmtMs(p?.avgMs)} | ${p ? `${p.lost}/${p.sent}` : '-'} | ${p?.rcodes ?? '-'} | ${fmtMs(v?.p50Ms)} | ${fmtMs(v?.p99Ms)} | ${inv} |`);
  }
  const notes = results.filter((r) => r.error).map((r) => `- ${r.kind}: ${r.error}`);
  return lines.join('\n') + (notes.length ? '\n\n' + notes.join('\n') : '') + '\n';
}
