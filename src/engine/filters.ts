import { invalid } from '../common/errors.js';

// Docker's `filters` query parameter: JSON {"key": {"value": true}} (or the legacy {"key": ["value"]}).
export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | undefined | null): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid(`invalid filter: ${raw}`);
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const values = filterValues(value);
    if (!values) throw invalid(`invalid filter: ${raw}`);
    out.set(key, values);
  }
  return out;
}

/**
 * What Go decodes into map[string]map[string]bool, or the legacy map[string][]string; any other
 * shape ({"label": "x"}, {"label": {"x": "yes"}}) fails both and is the client's 400.
 */
function filterValues(value: unknown): string[] | null {
  if (value === null) return [];
  if (Array.isArray(value)) return value.every((v) => typeof v === 'string') ? value : null;
  if (typeof value !== 'object') return null;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.every(([, v]) => typeof v === 'boolean' || v === null) ? entries.map(([k]) => k) : null;
}

/** Rejects keys a list endpoint does not know, with Docker's message. */
export function checkFilterKeys(filters: Filters, allowed: string[]): void {
  for (const key of filters.keys()) {
    if (!allowed.includes(key)) throw invalid(`Invalid filter '${key}'`); // dockerd 20.10's capital I
  }
}

/** Docker's label filter: every wanted `key` or `key=value` must match. */
export function matchLabels(wanted: string[] | undefined, labels: Record<string, string>): boolean {
  if (!wanted) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return w in labels;
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** `label!=` filter used by prune: none may match. */
export function matchNoLabels(unwanted: string[] | undefined, labels: Record<string, string>): boolean {
  if (!unwanted) return true;
  return unwanted.every((w) => !matchLabels([w], labels));
}

/** Docker's `until` value: a unix timestamp or a Go duration (10m, 1h30m) before now. */
export function parseUntil(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const asDate = Date.parse(value);
  if (!Number.isNaN(asDate)) return asDate;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== value.length) throw invalid(`failed to parse value as time or duration: "${value}"`);
  return now - total;
}

/** Docker's prune filters (until, label, label!): what an object must satisfy to be pruned. */
export function pruneMatcher(filters: Filters): (created: string, labels: Record<string, string>) => boolean {
  checkFilterKeys(filters, ['label', 'label!', 'until']);
  const until = filters.get('until')?.map((u) => parseUntil(u));
  return (created, labels) =>
    (!until || until.every((t) => Date.parse(created) < t)) && matchLabels(filters.get('label'), labels) && matchNoLabels(filters.get('label!'), labels);
}
