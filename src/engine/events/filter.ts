import { matchLabels, type Filters } from '../filters.js';
import type { DockerEvent } from '../../common/events.js';

// Docker's events filter (daemon/events/filter.go): every given key must match. `type`, `scope`
// and `event` match exactly (an event filter of exec_create/exec_start/health_status matches as a
// prefix); container, network, daemon, plugin, volume... match the actor's ID or name by prefix;
// image matches the image attribute, with or without its tag; label takes key or key=value.
// Unknown keys are ignored, as dockerd does.

const BY_ACTOR = ['container', 'network', 'daemon', 'plugin', 'volume', 'node', 'service', 'secret', 'config'];
const PREFIX_EVENTS = new Set(['exec_create', 'exec_start', 'health_status']);

export function eventMatches(filters: Filters, ev: DockerEvent): boolean {
  const values = (k: string) => filters.get(k) ?? [];
  const exact = (k: string, v: string) => values(k).length === 0 || values(k).includes(v);
  const fuzzy = (k: string, v: string) => values(k).length === 0 || values(k).some((want) => v.startsWith(want));
  const events = values('event');
  if (events.length && !events.some((want) => ev.Action === want || (PREFIX_EVENTS.has(want) && ev.Action.startsWith(want)))) return false;
  if (!exact('type', ev.Type)) return false;
  if (!exact('scope', ev.scope)) return false;
  // fuzzyMatchName: the actor's ID or name attribute, whatever the event's type (as Docker does).
  for (const key of BY_ACTOR) {
    if (!fuzzy(key, ev.Actor.ID) && !fuzzy(key, ev.Actor.Attributes.name ?? '')) return false;
  }
  if (values('image').length) {
    const image = ev.Type === 'image' ? ev.Actor.Attributes.name ?? '' : ev.Actor.Attributes.image ?? '';
    const candidates = [ev.Actor.ID, image, stripTag(ev.Actor.ID), stripTag(image)];
    if (!values('image').some((want) => candidates.includes(want))) return false;
  }
  return matchLabels(filters.get('label'), ev.Actor.Attributes);
}

function stripTag(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
}
