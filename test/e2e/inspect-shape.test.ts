import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonKinds, REPO_ROOT, startDaemon, weftdBuilt, type Daemon, type DaemonKind } from '../helpers/daemons.js';
import { apiJson, must, setupUserDefinedWalkthrough } from '../fixtures/walkthrough-state.js';
import { shapeDiff } from './shape.js';

// weft's JSON against the real dockerd's (test/fixtures/dockerd/, see its README): same keys,
// same types, ids/timestamps/addresses in the same format. Runs against weft when weftd is built;
// against dockerd too when WEFT_E2E_DAEMONS names it explicitly (a self-check of the comparator).

const FIXTURES = join(REPO_ROOT, 'test/fixtures/dockerd');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

function assertShape(name: string, fixtureFile: string, actual: unknown): void {
  const diff = shapeDiff(fixture(fixtureFile), actual);
  assert.ok(diff.length === 0, `${name} differs from dockerd's (test/fixtures/dockerd/${fixtureFile}), ${diff.length} difference(s):\n  ${diff.join('\n  ')}\nactual:\n${JSON.stringify(actual, null, 2)}`);
}

const kinds: DaemonKind[] = ['weft'];
if (process.env.WEFT_E2E_DAEMONS?.split(',').map((s) => s.trim()).includes('docker') && daemonKinds().includes('docker')) kinds.push('docker');

for (const kind of kinds) {
  const skip = kind === 'weft' && !weftdBuilt() ? 'weftd is not built yet (dist/src/daemon/main.js missing)' : false;
  describe(`inspect output shape on ${kind} matches dockerd`, { skip, timeout: 120_000 }, () => {
    let d: Daemon | undefined;
    let netCreate: unknown;
    let containerCreate: unknown;
    let emptyInspect: unknown;
    const fresh: { bridge?: unknown; list?: unknown } = {};
    before(async () => {
      d = await startDaemon(kind);
      fresh.bridge = JSON.parse(await must(d, ['network', 'inspect', 'bridge']));
      fresh.list = await apiJson(d, 'GET', '/networks');
      await setupUserDefinedWalkthrough(d, {
        afterNetworkCreate: async (r) => {
          netCreate = r;
          emptyInspect = JSON.parse(await must(d!, ['network', 'inspect', 'alpine-net']));
        },
        afterContainerCreate: async (r) => {
          containerCreate = r;
        },
      });
    });
    after(async () => {
      await d?.stop();
    });

    test('docker network inspect bridge, before any container', () => assertShape('network inspect bridge', 'network-inspect-bridge-empty.json', fresh.bridge));
    test('GET /networks on a fresh daemon', () => assertShape('GET /networks', 'networks-list-fresh.json', fresh.list));
    test('POST /networks/create answer', () => assertShape('POST /networks/create', 'network-create-response.json', netCreate));
    test('docker network inspect alpine-net, empty', () => assertShape('network inspect alpine-net', 'network-inspect-alpine-net-empty.json', emptyInspect));
    test('POST /containers/create answer', () => assertShape('POST /containers/create', 'container-create-response.json', containerCreate));
    test('docker network inspect bridge with alpine3 and alpine4', async () => {
      assertShape('network inspect bridge', 'network-inspect-bridge.json', JSON.parse(await must(d!, ['network', 'inspect', 'bridge'])));
    });
    test('docker network inspect alpine-net with alpine1, alpine2, alpine4', async () => {
      assertShape('network inspect alpine-net', 'network-inspect-alpine-net.json', JSON.parse(await must(d!, ['network', 'inspect', 'alpine-net'])));
    });
    test('GET /networks with the walkthrough state', async () => {
      assertShape('GET /networks', 'networks-list.json', await apiJson(d!, 'GET', '/networks'));
    });
    test('GET /networks/alpine-net', async () => {
      assertShape('GET /networks/alpine-net', 'network-get-alpine-net.json', await apiJson(d!, 'GET', '/networks/alpine-net'));
    });
    test('GET /containers/alpine4/json: NetworkSettings and HostConfig.NetworkMode', async () => {
      // The fixture was captured at API 1.41 (dockerd 20.10): ask weft at the same version.
      const actual = await apiJson(d!, 'GET', '/v1.41/containers/alpine4/json');
      const expected = fixture('container-inspect-alpine4.json') as { NetworkSettings: unknown; HostConfig: { NetworkMode: string } };
      const diff = shapeDiff(expected.NetworkSettings, actual?.NetworkSettings, '$.NetworkSettings');
      if (actual?.HostConfig?.NetworkMode !== expected.HostConfig.NetworkMode) diff.push(`$.HostConfig.NetworkMode: ${JSON.stringify(actual?.HostConfig?.NetworkMode)}, dockerd has "${expected.HostConfig.NetworkMode}"`);
      assert.ok(diff.length === 0, `container inspect differs from dockerd's (container-inspect-alpine4.json):\n  ${diff.join('\n  ')}`);
    });
    /** Where dockerd answers 500 for the client's own mistake, weft answers a 4xx (issue 11), same message. */
    const DELIBERATE_STATUS: Record<string, { status: number; reason: string }> = {
      network_disconnect_not_connected: { status: 409, reason: 'dockerd: a plain fmt.Errorf, so 500' },
    };
    test('network error answers: status codes and messages', async () => {
      const errors = fixture('errors.json') as Record<string, { request: string; status: number; body: { message: string } }>;
      const diff: string[] = [];
      const norm = (m: unknown) => String(m).replace(/[0-9a-f]{64}/g, '<id>');
      for (const [key, e] of Object.entries(errors)) {
        if (!key.startsWith('network_')) continue;
        const [method, path, ...rest] = e.request.split(' ');
        const body = rest.length ? JSON.parse(rest.join(' ')) : undefined;
        const r = await d!.api(method!, path!, body);
        const msg = (r.json as { message?: string } | undefined)?.message;
        const status = DELIBERATE_STATUS[key]?.status ?? e.status;
        if (r.status !== status) diff.push(`${key}: ${e.request} -> ${r.status}, expected ${status} (dockerd ${e.status})`);
        if (norm(msg) !== norm(e.body.message)) diff.push(`${key}: message ${JSON.stringify(msg ?? r.text)}, dockerd ${JSON.stringify(e.body.message)}`);
      }
      assert.ok(diff.length === 0, `error answers differ from dockerd's (errors.json):\n  ${diff.join('\n  ')}`);
    });
  });
}
