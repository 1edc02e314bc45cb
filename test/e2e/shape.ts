// Compares the shape of a JSON answer with a fixture captured from the real dockerd: the same keys
// (recursively), the same JSON types, and for ids, timestamps and addresses the same FORMAT rather
// than the same value. Returns one line per difference, so a failing test prints a readable diff.

export const FORMATS: Record<string, RegExp> = {
  hex64: /^[0-9a-f]{64}$/,
  rfc3339nano: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
  cidr4: /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/,
  ipv4: /^(\d{1,3}\.){3}\d{1,3}$/,
  mac: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
};

/** Leaf keys whose value is volatile: only the format is checked (an empty string stays allowed where the fixture has one). */
const FORMAT_OF_KEY: Record<string, keyof typeof FORMATS> = {
  Id: 'hex64',
  ID: 'hex64',
  EndpointID: 'hex64',
  NetworkID: 'hex64',
  SandboxID: 'hex64',
  Created: 'rfc3339nano',
  IPv4Address: 'cidr4',
  Subnet: 'cidr4',
  Gateway: 'ipv4',
  IPAddress: 'ipv4',
  MacAddress: 'mac',
};

/** Objects whose keys are data (ids, network names): each entry is compared with the fixture's first one. */
const DYNAMIC_KEYS: Record<string, keyof typeof FORMATS | null> = {
  Containers: 'hex64',
  Networks: null,
};

/**
 * Keys the 1.41 fixtures lack but a newer Docker sends: weft speaks API 1.45, so these may appear.
 * Checked for format/type only when present.
 */
export const NEWER_API_KEYS: Record<string, string> = {
  DNSNames: 'EndpointSettings.DNSNames, API 1.44',
  Gateway: 'dockerd >= 23 records the default bridge gateway in IPAM.Config (the seed article shows it too); 20.10 omits it without --bip',
};

/** Option values that are host configuration, not API shape: only presence is checked. */
const FREE_OPTION_VALUES = new Set(['com.docker.network.bridge.name']);

/** Leaf values checked for equality too: the walkthrough makes them deterministic. */
const EXACT_KEYS = new Set(['Name', 'Scope', 'Driver', 'EnableIPv6', 'Internal', 'Attachable', 'Ingress', 'ConfigOnly', 'IPPrefixLen']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

export interface ShapeOptions {
  /** Under Options (network driver options) compare the values too. Default true. */
  exactOptions?: boolean;
}

export function shapeDiff(expected: unknown, actual: unknown, path = '$', opts: ShapeOptions = {}, key = ''): string[] {
  const out: string[] = [];
  const te = typeOf(expected);
  const ta = typeOf(actual);
  if (te !== ta) {
    out.push(`${path}: type ${ta} ${show(actual)}, dockerd has ${te} ${show(expected)}`);
    return out;
  }
  if (te === 'array') {
    const e = expected as unknown[];
    const a = actual as unknown[];
    if (e.length === 0 && a.length > 0) out.push(`${path}: ${a.length} elements, dockerd has none`);
    if (e.length > 0 && a.length === 0) out.push(`${path}: empty, dockerd has ${e.length} elements`);
    // Lists of named objects (networks, containers) are matched by Name; others against the first element.
    const byName = e.every((x) => typeOf(x) === 'object' && typeof (x as { Name?: unknown }).Name === 'string');
    a.forEach((item, i) => {
      let template: unknown = e[0];
      if (byName && typeOf(item) === 'object') {
        const match = e.find((x) => (x as { Name: string }).Name === (item as { Name?: string }).Name);
        if (match) template = match;
      }
      if (template !== undefined) out.push(...shapeDiff(template, item, `${path}[${i}]`, opts, key));
    });
    if (byName) {
      const names = new Set(a.map((x) => (x as { Name?: string })?.Name));
      for (const x of e) if (!names.has((x as { Name: string }).Name)) out.push(`${path}: no element named ${show((x as { Name: string }).Name)}`);
    }
    return out;
  }
  if (te === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    if (key in DYNAMIC_KEYS) {
      const fmt = DYNAMIC_KEYS[key];
      const ek = Object.keys(e);
      const ak = Object.keys(a);
      if (ek.length !== ak.length) out.push(`${path}: ${ak.length} entries, dockerd has ${ek.length}`);
      const template = ek.length ? e[ek[0]!] : undefined;
      for (const k of ak) {
        if (fmt && !FORMATS[fmt]!.test(k)) out.push(`${path}: key ${show(k)} is not ${fmt}`);
        const name = (a[k] as { Name?: unknown } | null)?.Name;
        const byName = ek.map((x) => e[x]).find((v) => name !== undefined && (v as { Name?: unknown } | null)?.Name === name);
        const t = byName ?? (k in e ? e[k] : template);
        if (t !== undefined) out.push(...shapeDiff(t, a[k], `${path}[${show(k)}]`, opts, ''));
      }
      return out;
    }
    for (const k of Object.keys(e)) if (!(k in a)) out.push(`${path}.${k}: missing (dockerd: ${show(e[k])})`);
    for (const k of Object.keys(a)) {
      if (k in e) continue;
      if (k in NEWER_API_KEYS) {
        const fmt = FORMAT_OF_KEY[k];
        if (fmt && typeof a[k] === 'string' && a[k] !== '' && !FORMATS[fmt]!.test(a[k] as string)) out.push(`${path}.${k}: ${show(a[k])} is not ${fmt}`);
        continue;
      }
      out.push(`${path}.${k}: unexpected key (value ${show(a[k])})`);
    }
    for (const k of Object.keys(e)) {
      if (!(k in a)) continue;
      if (key === 'Options' && (opts.exactOptions ?? true) && typeof e[k] !== 'object') {
        if (e[k] !== a[k] && !FREE_OPTION_VALUES.has(k)) out.push(`${path}.${k}: ${show(a[k])}, dockerd has ${show(e[k])}`);
        continue;
      }
      out.push(...shapeDiff(e[k], a[k], `${path}.${k}`, opts, k));
    }
    return out;
  }
  // Leaves of the same type.
  const fmt = FORMAT_OF_KEY[key];
  if (fmt && typeof expected === 'string') {
    const re = FORMATS[fmt]!;
    if (expected === '' && actual !== '') out.push(`${path}: ${show(actual)}, dockerd has ""`);
    else if (expected !== '' && !re.test(actual as string)) out.push(`${path}: ${show(actual)} is not ${fmt} (dockerd: ${show(expected)})`);
    return out;
  }
  if (EXACT_KEYS.has(key) && expected !== actual) out.push(`${path}: ${show(actual)}, dockerd has ${show(expected)}`);
  return out;
}
