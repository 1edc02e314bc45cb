import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, EVENT_HISTORY, eventMatches, parseEventTime, serializeDockerEvent, toDockerEvent, type DockerEvent } from '../../src/engine/events/index.js';
import { parseFilters } from '../../src/engine/filters.js';
import { containerRecord, networkRecord } from '../helpers/records.js';

const filters = (f: Record<string, string[]>) => parseFilters(JSON.stringify(f));

function ev(over: Partial<DockerEvent> & { Attributes?: Record<string, string>; ID?: string }): DockerEvent {
  return { Type: 'container', Action: 'start', Actor: { ID: over.ID ?? 'abc123', Attributes: over.Attributes ?? { name: 'web', image: 'alpine:3' } }, scope: 'local', time: 1, timeNano: 1_000_000_000n, ...over };
}

test('event filters: Docker semantics key by key', () => {
  assert.ok(eventMatches(filters({}), ev({})));
  assert.ok(eventMatches(filters({ event: ['start', 'die'] }), ev({})));
  assert.ok(!eventMatches(filters({ event: ['die'] }), ev({})));
  assert.ok(eventMatches(filters({ event: ['exec_create'] }), ev({ Action: 'exec_create: sh -c true' })), 'exec_create matches as a prefix');
  assert.ok(!eventMatches(filters({ type: ['network'] }), ev({})));
  assert.ok(eventMatches(filters({ container: ['we'] }), ev({})), 'name prefix');
  assert.ok(eventMatches(filters({ container: ['abc'] }), ev({})), 'ID prefix');
  assert.ok(!eventMatches(filters({ container: ['db'] }), ev({})));
  assert.ok(eventMatches(filters({ image: ['alpine'] }), ev({})), 'image without its tag');
  assert.ok(eventMatches(filters({ image: ['alpine:3'] }), ev({})));
  assert.ok(!eventMatches(filters({ image: ['busybox'] }), ev({})));
  assert.ok(eventMatches(filters({ label: ['name=web'] }), ev({})));
  assert.ok(!eventMatches(filters({ label: ['tier'] }), ev({})));
  assert.ok(!eventMatches(filters({ scope: ['swarm'] }), ev({})));
  assert.ok(eventMatches(filters({ colour: ['red'] }), ev({})), 'unknown keys are ignored');
});

test('since/until values: unix times, durations, dates', () => {
  const now = 1_700_000_000_000_000_000n;
  assert.equal(parseEventTime('1700000000', now), 1_700_000_000_000_000_000n);
  assert.equal(parseEventTime('1700000000.5', now), 1_700_000_000_500_000_000n);
  assert.equal(parseEventTime('10m', now), now - 600_000_000_000n);
  assert.equal(parseEventTime('1h30m', now), now - 5_400_000_000_000n);
  assert.equal(parseEventTime('2023-11-14T22:13:20Z', now), 1_700_000_000_000_000_000n);
  assert.equal(parseEventTime('2023-11-14', now), 1_699_920_000_000_000_000n);
  assert.throws(() => parseEventTime('yesterday', now), /failed to parse value as time or duration: "yesterday"/);
  assert.throws(() => parseEventTime('10x', now));
});

test('serialized events keep timeNano exact', () => {
  const line = serializeDockerEvent(ev({ timeNano: 1796233353964775123n }));
  assert.match(line, /"timeNano":1796233353964775123\}\n$/);
  assert.equal(JSON.parse(line).Actor.ID, 'abc123');
});

test('the bus: Docker faces, attributes, internal events hidden, bounded history, a failing follower', () => {
  const bus = new EventBus();
  const net = networkRecord({ id: 'a'.repeat(64), name: 'n1' });
  const c = containerRecord({ name: 'c1', config: { Image: 'alpine', Labels: { tier: 'db' } } });
  const seen: string[] = [];
  bus.subscribe(() => {
    throw new Error('a broken follower');
  });
  bus.subscribe((e) => seen.push(`${e.type} ${e.action}`));
  bus.emit({ type: 'network', action: 'realized', network: net });
  bus.emit({ type: 'container', action: 'die', container: c, attributes: { exitCode: '137' } });
  assert.deepEqual(seen, ['network realized', 'container die'], 'the broken follower does not stop the others');
  const [die] = bus.past(0n, null);
  assert.equal(bus.past(0n, null).length, 1, 'realized has no Docker face');
  assert.deepEqual(die.Actor.Attributes, { tier: 'db', exitCode: '137', image: 'alpine', name: 'c1' });
  assert.equal(die.status, 'die');
  assert.equal(die.from, 'alpine');
  const conn = toDockerEvent({ type: 'network', action: 'connect', network: net, container: c, endpoint: {} as never, timeNano: 5n });
  assert.deepEqual(conn?.Actor, { ID: net.id, Attributes: { container: c.id, name: 'n1', type: 'bridge' } });
  for (let i = 0; i < EVENT_HISTORY + 10; i++) bus.emit({ type: 'container', action: 'start', container: c });
  const kept = bus.past(0n, null);
  assert.equal(kept.length, EVENT_HISTORY);
  assert.ok(kept.every((e, i) => i === 0 || e.timeNano > kept[i - 1].timeNano), 'strictly increasing times');
});
