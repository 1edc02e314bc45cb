import { startDaemon, type Daemon, type DaemonKind } from '../test/helpers/daemons.js';
import { api, benchSubnet, ENGINE_KINDS, ENGINE_LABEL, errMsg, fmtMs, median, pair, ratio, repeat, rssMb, sleep, timed, type OpStats } from './lib.js';

// Per-operation cost as the store grows: at each level L the engine holds L user networks (each
// with an explicit /24, so no engine runs out of address pools) and L containers, container i
// attached to network i. The L containers are created, not started (starting 1,000 containers
// takes minutes on dockerd/podman here); one probe container runs throughout and is the one that
// is connected/disconnected. At the top level the daemon is restarted on that store: time to the
// first /_ping and its RSS.

export interface ScaleLevel {
  networks: number;
  containers: number;
  /** Mean ms per network / container create while filling up to this level. */
  fillNetworkMs: number;
  fillContainerMs: number;
  rssMb: number;
  ops: OpStats[];
}

export interface ScaleResult {
  kind: DaemonKind;
  error?: string;
  levels: ScaleLevel[];
  startup?: { networks: number; containers: number; startupMs: number; rssBeforeMb: number; rssSettledMb: number; rssAfterMb: number; rssIdleMb: number; idleStartupMs: number; listedNetworks?: number };
}

/** The ops measured at every level, in table order: [key, label]. */
export const SCALE_OPS: [string, string][] = [
  ['network create + rm', 'network create + rm'],
  ['network connect + disconnect', 'connect + disconnect (running)'],
  ['run (create+start) + rm -f', 'run -d + rm -f'],
  ['network inspect', 'network inspect'],
  ['network ls', 'network ls'],
];

export async function scaleEngine(kind: DaemonKind, levels: number[], reps: { net: number; run: number; read: number }, settleMs = 15_000): Promise<ScaleResult> {
  let d: Daemon;
  try {
    // dockerd needs well over 40 s to restart on 1,000 networks here.
    d = await startDaemon(kind, { startTimeoutMs: 300_000 });
  } catch (err) {
    return { kind, error: errMsg(err), levels: [] };
  }
  const res: ScaleResult = { kind, levels: [] };
  const idleRss = rssMb(d.pid());
  const idleStartupMs = d.lastStartupMs;
  try {
    await api(d, 'POST', '/networks/create', { Name: 'sc-probe', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.98.0.0/24' }] } });
    await api(d, 'POST', '/networks/create', { Name: 'sc-conn', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.98.1.0/24' }] } });
    const probe = await api(d, 'POST', '/containers/create?name=sc-probe', { Image: 'alpine', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'sc-probe' } });
    await api(d, 'POST', `/containers/${probe.Id}/start`);
    let nets = 0;
    let ctrs = 0;
    for (const L of levels) {
      console.error(`[bench] scale ${kind}: filling to ${L} networks + ${L} containers`);
      const tn = await timed(async () => {
        for (; nets < L; nets++) {
          await api(d, 'POST', '/networks/create', { Name: `sc-n${nets}`, Driver: 'bridge', CheckDuplicate: true, IPAM: { Config: [{ Subnet: benchSubnet(nets) }] } });
        }
      });
      const addedNets = L - (res.levels.at(-1)?.networks ?? 0);
      const tc = await timed(async () => {
        for (; ctrs < L; ctrs++) {
          await api(d, 'POST', `/containers/create?name=sc-c${ctrs}`, { Image: 'alpine', Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: `sc-n${ctrs}` } });
        }
      });
      const addedCtrs = L - (res.levels.at(-1)?.containers ?? 0);
      const ops: OpStats[] = [];
      await pair(
        ops,
        ['network create', 'network rm', 'network create + rm'],
        reps.net,
        async () => (await api(d, 'POST', '/networks/create', { Name: 'sc-x', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.97.0.0/24' }] } })).Id,
        async (id) => void (await api(d, 'DELETE', `/networks/${id}`)),
      );
      await pair(
        ops,
        ['network connect', 'network disconnect', 'network connect + disconnect'],
        reps.net,
        async () => (await api(d, 'POST', '/networks/sc-conn/connect', { Container: 'sc-probe' }), 'sc-probe'),
        async (c) => void (await api(d, 'POST', '/networks/sc-conn/disconnect', { Container: c, Force: false })),
      );
      await pair(
        ops,
        ['create + start', 'rm -f', 'run (create+start) + rm -f'],
        reps.run,
        async () => {
          const c = await api(d, 'POST', '/containers/create', { Image: 'alpine', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'sc-probe' } });
          await api(d, 'POST', `/containers/${c.Id}/start`);
          return c.Id as string;
        },
        async (id) => void (await api(d, 'DELETE', `/containers/${id}?force=1`)),
      );
      await repeat(ops, 'network inspect', reps.read, () => api(d, 'GET', '/networks/sc-n0'));
      await repeat(ops, 'network ls', reps.read, () => api(d, 'GET', '/networks'));
      res.levels.push({ networks: L, containers: L, fillNetworkMs: tn / Math.max(1, addedNets), fillContainerMs: tc / Math.max(1, addedCtrs), rssMb: rssMb(d.pid()), ops });
    }
    // Restart on the full store.
    try {
      await sleep(500);
      const before = rssMb(d.pid());
      // Garbage of the fill is still counted right after it: also measured once the daemon has
      // been idle (V8 shrinks its heap then; Go returns memory on its own schedule).
      await sleep(settleMs);
      const settled = rssMb(d.pid());
      await d.restart();
      const startupMs = d.lastStartupMs;
      const list = await api(d, 'GET', '/networks').catch(() => undefined);
      await sleep(2000); // let post-ping restore work settle
      res.startup = {
        networks: nets,
        containers: ctrs,
        startupMs,
        rssBeforeMb: before,
        rssSettledMb: settled,
        rssAfterMb: rssMb(d.pid()),
        rssIdleMb: idleRss,
        idleStartupMs,
        listedNetworks: Array.isArray(list) ? list.length : undefined,
      };
    } catch (err) {
      res.error = `restart: ${errMsg(err)}`;
    }
  } catch (err) {
    res.error = errMsg(err);
  } finally {
    console.error(`[bench] scale ${kind}: tearing down`);
    await d.stop().catch((err) => console.error(`[bench] ${kind}: ${err instanceof Error ? err.message : err}`));
  }
  return res;
}

const get = (lvl: ScaleLevel | undefined, op: string) => {
  const o = lvl?.ops.find((x) => x.op === op);
  return o && o.n > 0 ? o.median : undefined;
};

export function renderScale(results: ScaleResult[]): string {
  const kinds = ENGINE_KINDS.filter((k) => results.some((r) => r.kind === k));
  const levels = [...new Set(results.flatMap((r) => r.levels.map((l) => l.networks)))].sort((a, b) => a - b);
  const out: string[] = [];
  out.push(`| operation (median ms) | ${levels.flatMap((L) => kinds.map((k) => `${ENGINE_LABEL[k]} @${L}`)).join(' | ')} |`);
  out.push(`| --- | ${levels.flatMap(() => kinds.map(() => '---')).join(' | ')} |`);
  const rows: [string, (l: ScaleLevel | undefined) => number | undefined][] = [
    ...SCALE_OPS.map(([key, label]) => [label, (l: ScaleLevel | undefined) => get(l, key)] as [string, (l: ScaleLevel | undefined) => number | undefined]),
    ['fill: ms per network create', (l) => l?.fillNetworkMs],
    ['fill: ms per container create (not started)', (l) => l?.fillContainerMs],
    ['daemon RSS MB', (l) => l?.rssMb],
  ];
  for (const [label, f] of rows) {
    out.push(`| ${label} | ${levels.flatMap((L) => kinds.map((k) => fmtMs(f(results.find((r) => r.kind === k)?.levels.find((l) => l.networks === L))))).join(' | ')} |`);
  }
  // Flatness: cost at the top level / cost at the bottom level.
  out.push('');
  out.push(`Flatness (median at ${levels.at(-1)} / median at ${levels[0]}; 1.00 = flat):`);
  out.push('');
  out.push(`| operation | ${kinds.map((k) => ENGINE_LABEL[k]).join(' | ')} |`);
  out.push(`| --- | ${kinds.map(() => '---').join(' | ')} |`);
  for (const [key, label] of SCALE_OPS) {
    out.push(
      `| ${label} | ${kinds
        .map((k) => {
          const r = results.find((x) => x.kind === k);
          return ratio(get(r?.levels.at(-1), key), get(r?.levels[0], key));
        })
        .join(' | ')} |`,
    );
  }
  out.push('');
  out.push('Daemon restart on the full store (time from spawn to the first 200 on /_ping; RSS = VmRSS of the daemon process plus weft-dns, weft\'s UDP DNS front end (dockerd serves DNS in-process), 2 s after the ping; dockerd\'s containerd and podman\'s conmon/aardvark-dns not included):');
  out.push('');
  out.push('| engine | networks | containers | startup ms (idle store) | startup ms (full store) | RSS MB idle | RSS MB full, before restart | RSS MB full, 15 s idle | RSS MB after restart |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const s = r.startup;
    out.push(`| ${ENGINE_LABEL[r.kind]} | ${s?.networks ?? '-'} | ${s?.containers ?? '-'} | ${fmtMs(s?.idleStartupMs)} | ${fmtMs(s?.startupMs)} | ${fmtMs(s?.rssIdleMb)} | ${fmtMs(s?.rssBeforeMb)} | ${fmtMs(s?.rssSettledMb)} | ${fmtMs(s?.rssAfterMb)} |`);
  }
  const notes = results.flatMap((r) => [...(r.error ? [`- ${r.kind}: ${r.error}`] : []), ...r.levels.flatMap((l) => l.ops.filter((o) => o.error).map((o) => `- ${r.kind} @${l.networks} ${o.op}: ${o.error}`))]);
  return out.join('\n') + (notes.length ? '\n\n' + [...new Set(notes)].join('\n') : '') + '\n';
}

export { median };
