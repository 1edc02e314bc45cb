import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startDaemon, weftdBuilt } from '../helpers/daemons.js';
import { namesFromEvents, normalizeEvents, recordEvents, runLifecycle, type RawEvent } from '../fixtures/events-lifecycle.js';

// `docker events` against weftd: the events of a network + container life cycle are dockerd's
// (test/fixtures/dockerd/events-lifecycle.json, captured by capture-dockerd-events.ts), with Docker's
// keys and attributes; filters, since/until replay, --format, and weft's own `weft events`.

const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/dockerd/events-lifecycle.json'), 'utf8')) as Record<string, unknown>[];

/**
 * Deliberate difference: dockerd 20.10 reports `docker network disconnect` of a running container
 * twice (daemon and libnetwork both log it); weft reports it once.
 */
function withoutDuplicateDisconnect(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.filter((e, i) => !(i > 0 && e.Action === 'disconnect' && JSON.stringify(events[i - 1]) === JSON.stringify(e)));
}

test('docker events during a life cycle: the events dockerd emits, with its keys and attributes', { timeout: 120_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const startNano = BigInt(Date.now()) * 1_000_000n;
  const rec = recordEvents(d);
  const networksOnly = recordEvents(d, `?filters=${encodeURIComponent(JSON.stringify({ type: { network: true } }))}`);
  await Promise.all([rec.ready, networksOnly.ready]);
  await runLifecycle(d);
  const events = await rec.stop();

  await t.test('same events as dockerd, in the same order', () => {
    assert.deepEqual(normalizeEvents(events, namesFromEvents(events)), withoutDuplicateDisconnect(fixture));
  });

  await t.test('times: seconds and exact nanoseconds, increasing', () => {
    for (const e of events) {
      assert.equal(typeof e.timeNano, 'number');
      assert.equal(e.time, Math.floor(e.timeNano / 1e9));
    }
    const raw = events.map((e) => e.timeNano);
    assert.deepEqual([...raw].sort((a, b) => a - b), raw);
  });

  await t.test('a type filter on the stream', async () => {
    const nets = await networksOnly.stop();
    assert.ok(nets.length > 0);
    assert.ok(nets.every((e) => e.Type === 'network'));
    assert.equal(nets.length, events.filter((e) => e.Type === 'network').length);
  });

  const since = String(startNano / 1_000_000_000n);
  const until = String(BigInt(Date.now()) / 1000n + 1n);

  await t.test('docker events --since/--until replays the kept events and ends', async () => {
    const out = await d.dockerOk(['events', '--since', since, '--until', until, '--format', '{{json .}}']);
    const replayed = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RawEvent);
    assert.deepEqual(normalizeEvents(replayed, namesFromEvents(replayed)), normalizeEvents(events, namesFromEvents(events)));
  });

  await t.test('docker events --filter: container name prefix, event, network', async () => {
    const lines = async (...filters: string[]) =>
      (await d.dockerOk(['events', '--since', since, '--until', until, ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Type}} {{.Action}}'])).split('\n').filter(Boolean);
    assert.deepEqual(await lines('event=die'), ['container die', 'container die']);
    assert.deepEqual(await lines('container=ev2', 'event=rename'), ['container rename']);
    assert.deepEqual(await lines('type=network', 'network=ev-net', 'event=create'), ['network create']);
    assert.deepEqual(await lines('label=nope'), []);
  });

  await t.test('the default format is the docker CLI\'s', async () => {
    const out = await d.dockerOk(['events', '--since', since, '--until', until, '--filter', 'event=rename']);
    assert.match(out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container rename [0-9a-f]{64} \(image=alpine, name=ev2, oldName=\/ev1\)$/);
  });

  await t.test('weft events speaks the same flags', async () => {
    const r = await d.weft(['events', '--since', since, '--until', until, '--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter(Boolean), events.filter((e) => e.Type === 'network').map((e) => `${e.Action} ${e.Actor.Attributes.name}`));
    const plain = await d.weft(['events', '--since', since, '--until', until, '--filter', 'event=rename']);
    const docker = await d.dockerOk(['events', '--since', since, '--until', until, '--filter', 'event=rename']);
    assert.equal(plain.stdout.trim(), docker);
  });

  await t.test('bad since or filter: 400 with a clear message', async () => {
    const bad = await d.api('GET', '/events?since=yesterday');
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /failed to parse value as time or duration: "yesterday"/);
    const badFilter = await d.api('GET', '/events?until=1&filters=notjson');
    assert.equal(badFilter.status, 400);
    const unknownKey = await d.api('GET', `/events?until=1&filters=${encodeURIComponent('{"colour":{"red":true}}')}`);
    assert.equal(unknownKey.status, 200, 'unknown filter keys are ignored, as dockerd does');
  });
});
