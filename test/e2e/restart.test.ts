import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt } from '../helpers/daemons.js';

// kill -9 weftd with containers running, start it again: networks, containers, addresses and
// reachability are as before, and nothing is left behind when it is stopped.

test('weftd survives kill -9: networks, containers, addresses and reachability are kept', { timeout: 180_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const ok = (args: string[]) => d.dockerOk(args);
  await ok(['network', 'create', '--subnet', '10.77.0.0/24', 'keep-net']);
  await ok(['run', '-dit', '--name', 'k1', '--network', 'keep-net', 'alpine', 'ash']);
  await ok(['run', '-dit', '--name', 'k2', '--network', 'keep-net', 'alpine', 'ash']);
  await ok(['run', '-dit', '--name', 'k3', 'alpine', 'ash']);
  await ok(['network', 'connect', 'bridge', 'k2']);
  const snapshot = async () => ({
    networks: await ok(['network', 'ls', '--format', '{{.ID}} {{.Name}} {{.Driver}}']),
    running: await ok(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']).then((s) => s.replace(/Up .*$/gm, 'Up')),
    addresses: await ok(['inspect', '-f', '{{.Name}}{{range $n, $e := .NetworkSettings.Networks}} {{$n}}={{$e.IPAddress}}/{{$e.MacAddress}}{{end}}', 'k1', 'k2', 'k3']),
  });
  const before = await snapshot();
  const k3ip = await ok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'k3']);

  await d.kill9();
  // While the daemon is down the containers keep running and keep talking (conmon holds them).
  await d.restart();

  const after = await snapshot();
  assert.deepEqual(after, before);
  assert.equal(await ok(['exec', 'k1', 'ping', '-c', '1', '-W', '2', 'k2']).then((s) => /1 packets received/.test(s)), true, 'k1 → k2 by name after restart');
  assert.match(await ok(['exec', 'k2', 'ping', '-c', '1', '-W', '2', k3ip]), /1 packets received/, 'k2 → k3 over the default bridge');
  const isolated = await d.docker(['exec', 'k1', 'ping', '-c', '1', '-W', '1', k3ip]);
  assert.notEqual(isolated.code, 0, 'k1 still cannot reach k3 (isolation restored)');
  // New work after the restart does not collide with what was kept.
  await ok(['run', '-dit', '--name', 'k4', '--network', 'keep-net', 'alpine', 'ash']);
  const k4 = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "keep-net").IPAddress}}', 'k4']);
  assert.match(k4, /^10\.77\.0\.\d+$/);
  assert.ok(!before.addresses.includes(`=${k4}/`), `k4 got a fresh address (${k4}), not one kept across the restart`);
});
