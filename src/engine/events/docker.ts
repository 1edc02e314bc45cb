import type { DockerEvent, EngineEvent } from '../../common/events.js';

// The Docker face of engine events: the message `docker events` shows, with Docker's actor
// attributes (daemon/events.go LogContainerEventWithAttributes, LogNetworkEventWithAttributes):
// a container's labels, image and name (plus what the action adds: exitCode, signal, oldName);
// a network's name and type (plus container on connect/disconnect). Internal events give null.

export function toDockerEvent(ev: EngineEvent): DockerEvent | null {
  const time = Number(ev.timeNano / 1_000_000_000n);
  if (ev.type === 'network') {
    if (ev.action === 'realized' || ev.action === 'update' || ev.action === 'forgotten') return null;
    const net = ev.network;
    const attributes: Record<string, string> = {};
    if ('container' in ev) attributes.container = ev.container.id;
    attributes.name = net.name;
    attributes.type = net.driver;
    return { Type: 'network', Action: ev.action, Actor: { ID: net.id, Attributes: attributes }, scope: net.scope, time, timeNano: ev.timeNano };
  }
  if (ev.action === 'update') return null;
  const c = ev.container;
  const attributes: Record<string, string> = { ...(c.config.Labels ?? {}), ...(ev.attributes ?? {}) };
  if (c.config.Image) attributes.image = c.config.Image;
  attributes.name = c.name;
  return {
    status: ev.action,
    id: c.id,
    from: c.config.Image,
    Type: 'container',
    Action: ev.action,
    Actor: { ID: c.id, Attributes: attributes },
    scope: 'local',
    time,
    timeNano: ev.timeNano,
  };
}

/** One line of the stream: JSON with timeNano written exactly (it does not fit a double). */
export function serializeDockerEvent(ev: DockerEvent): string {
  const { timeNano, ...rest } = ev;
  const json = JSON.stringify({ ...rest, timeNano: 0 });
  return json.slice(0, -'0}'.length) + `${timeNano}}\n`;
}
