import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerdAvailable, startDaemon, weftdBuilt, type DaemonKind } from '../helpers/daemons.js';

// The shape of GET /containers/{id}/stats and /top, weftd against a Debian dockerd 20.10 on the
// same host (so the same cgroup layout): every key path with its JSON type, for a running
// container on a user-defined network, one on the host network, and a stopped one; top's titles
// for the default and `aux` arguments; what the docker CLI prints for NET I/O and PIDs.

type Shape = Record<string, string>;

function shape(o: unknown, path = '', out: Shape = {}): Shape {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) shape(v, `${path}.${k}`, out);
    if (!Object.keys(o).length) out[path] = 'object';
  } else out[path] = Array.isArray(o) ? 'array' : o === null ? 'null' : typeof o;
  return out;
}

async function observe(kind: DaemonKind) {
  const d = await startDaemon(kind);
  try {
    await d.dockerOk(['network', 'create', 'shapenet']);
    await d.dockerOk(['run', '-d', '--name', 'c1', '--network', 'shapenet', 'busybox', 'sleep', '1000']);
    await d.dockerOk(['run', '-d', '--name', 'h1', '--network', 'host', 'busybox', 'sleep', '1000']);
    await d.dockerOk(['create', '--name', 's1', 'busybox', 'true']);
    const stats = async (c: string) => (await d.api('GET', `/containers/${c}/stats?stream=false`)).json;
    const top = async (args: string) => (await d.api('GET', `/containers/c1/top${args ? `?ps_args=${args}` : ''}`)).json;
    const cli = await d.dockerOk(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.NetIO}}', 'h1', 's1']);
    return {
      running: shape(await stats('c1')),
      host: shape(await stats('h1')),
      stopped: shape(await stats('s1')),
      topTitles: [(await top('')).Titles, (await top('aux')).Titles],
      cli: cli.split('\n'),
    };
  } finally {
    await d.stop();
  }
}

test('stats and top have dockerd\'s shape', { skip: !weftdBuilt() || !dockerdAvailable(), timeout: 120_000 }, async () => {
  const docker = await observe('docker');
  const weft = await observe('weft');
  for (const k of ['running', 'host', 'stopped'] as const) {
    const diff = [
      ...Object.entries(docker[k]).filter(([p, t]) => weft[k][p] !== t).map(([p, t]) => `${k}${p}: dockerd ${t}, weft ${weft[k][p] ?? 'missing'}`),
      ...Object.entries(weft[k]).filter(([p]) => !(p in docker[k])).map(([p, t]) => `${k}${p}: weft ${t}, dockerd has none`),
    ];
    assert.deepEqual(diff, [], diff.join('\n'));
  }
  assert.deepEqual(weft.topTitles, docker.topTitles);
  assert.deepEqual(weft.cli, docker.cli);
  console.log(`# stats shape: ${Object.keys(weft.running).length} key paths as dockerd's; CLI: ${weft.cli.join(' | ')}`);
});
