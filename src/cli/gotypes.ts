// Go value semantics for JSON data in templates: optional type schemas (so structs print as
// `{a b}` and maps as `map[k:v]` like the docker CLI), zero values, fmt-style printing, truth.

export type Schema =
  | { k: 'struct'; name: string; fields: [string, Schema][] }
  | { k: 'map'; elem: Schema }
  | { k: 'slice'; elem: Schema }
  | { k: 'string' }
  | { k: 'bool' }
  | { k: 'int' }
  | { k: 'any' };

export const S = {
  str: { k: 'string' } as Schema,
  bool: { k: 'bool' } as Schema,
  int: { k: 'int' } as Schema,
  any: { k: 'any' } as Schema,
  map: (elem: Schema = { k: 'string' }): Schema => ({ k: 'map', elem }),
  slice: (elem: Schema): Schema => ({ k: 'slice', elem }),
  struct: (name: string, fields: [string, Schema][]): Schema => ({ k: 'struct', name, fields }),
};

const types = new WeakMap<object, Schema>();
const nils = new WeakSet<object>();

export function schemaOf(v: unknown): Schema | undefined {
  return typeof v === 'object' && v !== null ? types.get(v) : undefined;
}
export function isTypedNil(v: unknown): boolean {
  return typeof v === 'object' && v !== null && nils.has(v);
}

/** Zero value of a Go type: "", false, 0, nil map/slice (typed sentinels), empty struct. */
export function zeroOf(s: Schema): unknown {
  switch (s.k) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
      return 0;
    case 'any':
      return null;
    case 'struct':
      return typed({}, s);
    default: {
      const o = s.k === 'slice' ? [] : {};
      nils.add(o);
      types.set(o, s);
      return o;
    }
  }
}

/** Registers a schema for a JSON value (recursively); returns the value to use in templates. */
export function typed(v: unknown, s: Schema): unknown {
  if (v === null || v === undefined) return s.k === 'map' || s.k === 'slice' ? zeroOf(s) : v ?? null;
  if (typeof v !== 'object' || s.k === 'any') return v;
  if (s.k === 'slice' && Array.isArray(v)) {
    types.set(v, s);
    v.forEach((e, i) => (v[i] = typed(e, s.elem)));
  } else if (s.k === 'map' && !Array.isArray(v)) {
    types.set(v, s);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = typed(o[k], s.elem);
  } else if (s.k === 'struct' && !Array.isArray(v)) {
    types.set(v, s);
    const o = v as Record<string, unknown>;
    for (const [name, fs] of s.fields) if (name in o) o[name] = typed(o[name], fs);
  }
  return v;
}

/** Go's fmt %v for the values we handle. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  return fmtValue(v);
}

function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'bigint') return v.toString(); // int64 values past 2^53 (events' timeNano)
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(' ')}]`;
  const o = v as Record<string, unknown>;
  const s = types.get(o);
  if (s?.k === 'struct') {
    return `{${s.fields.map(([n, fs]) => fmtValue(n in o ? o[n] : zeroOf(fs))).join(' ')}}`;
  }
  const keys = Object.keys(o).sort();
  return `map[${keys.map((k) => `${k}:${fmtValue(o[k])}`).join(' ')}]`;
}

function fmtNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // Go's %v for float64 is %g with the shortest representation.
  const s = String(n);
  return s.replace(/e\+?(-?)(\d)$/, 'e$1+0$2').replace('e+-', 'e-');
}

/** Go template truth: false, 0, nil, and empty strings/slices/maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (isTypedNil(v)) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') {
    const s = types.get(v);
    if (s?.k === 'struct') return true;
    return Object.keys(v).length > 0;
  }
  return true;
}

/** encoding/json without HTML escaping (docker's `json` template function). */
// JSON.stringify has no bigint: they travel as marked strings and come out as bare digits.
const BIGINT_MARK = '\u0000';
const BIGINT_JSON = /"\\u0000(-?\d+)\\u0000"/g;

export function goJson(v: unknown): string {
  // Formatter contexts go through json.Marshal, which escapes <, > and & (docker's MarshalJSON).
  const s0 = schemaOf(v);
  const htmlEscape = s0?.k === 'struct' && s0.name.startsWith('*');
  let out = JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${BIGINT_MARK}${x}${BIGINT_MARK}`;
    if (isTypedNil(x)) return null;
    const s = schemaOf(x);
    // docker's formatter contexts marshal as maps: sorted keys.
    if (s?.k === 'struct' && s.name.startsWith('*')) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return x;
  });
  if (out === undefined) return 'null';
  out = out.replace(BIGINT_JSON, '$1');
  return htmlEscape ? out.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026') : out;
}
