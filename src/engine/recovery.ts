import type { Logger } from '../common/log.js';
import type { ContainerRecord } from '../common/model.js';
import type { Runtime } from '../runtime/types.js';
import type { ContainerService } from './containers.js';
import type { Registry } from './registry.js';
import type { SandboxService } from './sandbox.js';

// Daemon start: operations a SIGKILL cut short between a record write and the work it records,
// found by test/e2e/crash-consistency.test.ts, are finished or undone here (Engine.start calls
// these in order). The rule: what the API was never told is done is either completed from the
// records, or, when the records cannot say enough, undone so that nothing is left behind.

export interface RecoveryDeps {
  registry: Registry;
  runtime: Runtime;
  sandboxes: SandboxService;
  containers: ContainerService;
  log: Logger;
}

/**
 * A container record whose runtime has no spec: a create killed after its record was written
 * (the create never answered: undone), or a remove killed after the runtime's files were gone
 * (completed). Either way it could never start, and only its record is left to delete.
 */
export async function dropContainersWithoutRuntime(deps: RecoveryDeps): Promise<void> {
  const { registry, runtime, sandboxes, log } = deps;
  for (const c of registry.containers.all()) {
    const missing = await runtime.status(c.id).then(
      () => false,
      (err: { kind?: string }) => err?.kind === 'NotFound',
    );
    if (!missing) continue;
    if (c.netnsPath || registry.endpointsOfContainer(c.id).length) await sandboxes.tearDown(c);
    // A remove killed inside the runtime's own removal leaves some of its files (the spec goes
    // first): the rest goes now, before the record that names them.
    await runtime.remove(c.id).catch((err: unknown) => log.warn({ container: c.name, err: String(err) }, 'could not remove what was left of its runtime files'));
    await registry.containers.delete(c.id);
    log.warn({ container: c.name, id: c.id }, 'a create or remove was cut short by a daemon crash: the container had no runtime files, its record is removed');
  }
}

/**
 * Live connects and disconnects of running containers cut short: the record (written first) is
 * what was asked for. An endpoint on a network the container no longer lists is left (the
 * disconnect completed); a listed network without an endpoint is joined (the connect completed),
 * or, if that fails, dropped from the record. Every running container's files are then
 * rewritten, since a crash may have come between a join or leave and the files' update.
 */
export async function settleConnections(deps: RecoveryDeps, running: ContainerRecord[]): Promise<void> {
  const { registry, sandboxes, containers, log } = deps;
  for (const c of running) {
    for (const ep of registry.endpointsOfContainer(c.id)) {
      // docker_gwbridge's endpoint is the engine's own (an overlay's way out), never listed.
      if (ep.gatewayService || c.networks.some((a) => a.networkId === ep.networkId)) continue;
      await sandboxes.disconnect(c, ep).then(
        () => log.warn({ container: c.name, network: ep.networkId }, 'a disconnect was cut short by a daemon crash: finished'),
        (err: unknown) => log.warn({ container: c.name, network: ep.networkId, err: String(err) }, 'could not finish a disconnect cut short'),
      );
    }
    for (const att of [...c.networks]) {
      if (!c.netnsPath || !registry.networks.byId.has(att.networkId)) continue;
      if (registry.endpointsOfContainer(c.id).some((e) => e.networkId === att.networkId)) continue;
      try {
        await sandboxes.join(c, att);
        log.warn({ container: c.name, network: att.networkId }, 'a connect was cut short by a daemon crash: finished');
      } catch (err) {
        c.networks = c.networks.filter((a) => a !== att);
        await registry.containers.put(c);
        log.warn({ container: c.name, network: att.networkId, err: String(err) }, 'a connect was cut short by a daemon crash and could not be finished: undone');
      }
    }
    try {
      containers.writeFiles(c);
    } catch (err) {
      log.warn({ container: c.name, err: String(err) }, 'could not rewrite the container files');
    }
  }
}
