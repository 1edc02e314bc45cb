import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerRecord, EndpointRecord } from '../../src/common/model.js';
import { createLogger } from '../../src/common/log.js';
import { settleConnections, type RecoveryDeps } from '../../src/engine/recovery.js';

// settleConnections finishes a disconnect cut short (an endpoint on a network the container no
// longer lists); the docker_gwbridge endpoint an overlay container gets is never listed and must
// survive a restart.
test('restart finishes a cut-short disconnect but keeps the docker_gwbridge endpoint', async () => {
  const c = { id: 'c1', name: 'alpine2', netnsPath: '/run/x/ns', networks: [{ networkId: 'ov' }] } as unknown as ContainerRecord;
  const eps = [
    { id: 'e-ov', containerId: 'c1', networkId: 'ov' },
    { id: 'e-gw', containerId: 'c1', networkId: 'gwbridge', gatewayService: true },
    { id: 'e-old', containerId: 'c1', networkId: 'gone-from-record' },
  ] as unknown as EndpointRecord[];
  const disconnected: string[] = [];
  const deps = {
    registry: { endpointsOfContainer: () => eps, networks: { byId: new Map([['ov', {}]]) } },
    sandboxes: { disconnect: async (_c: ContainerRecord, ep: EndpointRecord) => void disconnected.push(ep.id), join: async () => assert.fail('nothing to join') },
    containers: { writeFiles: () => undefined },
    runtime: {},
    log: createLogger({ level: 'fatal' }),
  } as unknown as RecoveryDeps;
  await settleConnections(deps, [c]);
  assert.deepEqual(disconnected, ['e-old']);
});
