// The functions available in templates: Go's builtins we need plus docker's additions
// (json, split, join, title, lower, upper, pad, truncate).
import { goJson, goString, isTypedNil, schemaOf, truth } from './gotypes.js';
import { TemplateError } from './template-types.js';

type Fn = (...args: unknown[]) => unknown;

function length(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isTypedNil(v)) return 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length;
  throw new TemplateError(`error calling len: len of type ${typeof v}`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let cur = item;
  for (const k of keys) {
    if (Array.isArray(cur)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) {
        throw new TemplateError(`error calling index: index out of range: ${String(k)}`);
      }
      cur = cur[i];
    } else if (typeof cur === 'string') {
      cur = cur.charCodeAt(Number(k));
    } else if (typeof cur === 'object' && cur !== null) {
      const o = cur as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, String(k))) cur = o[String(k)];
      else {
        const s = schemaOf(o);
        cur = s?.k === 'map' && s.elem.k === 'string' ? '' : null;
      }
    } else if (cur === null || cur === undefined) {
      throw new TemplateError('error calling index: index of untyped nil');
    } else {
      throw new TemplateError(`error calling index: can't index item of type ${typeof cur}`);
    }
  }
  return cur;
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError('error calling lt: incompatible types for comparison');
}

/** A small printf: %s %v %d %q %t %x %%, with optional width. */
export function sprintf(format: string, ...args: unknown[]): string {
  let i = 0;
  return format.replace(/%(-?)(\d*)([svdqtx%])/g, (_m, left: string, width: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    let s: string;
    if (verb === 'q') s = JSON.stringify(goString(a));
    else if (verb === 'x') s = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex');
    else s = goString(a);
    const w = Number(width || 0);
    return left ? s.padEnd(w) : s.padStart(w);
  });
}

function print(...args: unknown[]): string {
  // fmt.Sprint adds spaces between operands when neither is a string.
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(a);
  });
  return out;
}

function toStr(v: unknown): string {
  return typeof v === 'string' ? v : goString(v);
}

export const FUNCS: Record<string, Fn> = {
  json: (v) => goJson(v),
  split: (s, sep) => toStr(s).split(toStr(sep)),
  join: (a, sep) => (Array.isArray(a) ? a.map(toStr).join(toStr(sep)) : toStr(a)),
  title: (s) => toStr(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  lower: (s) => toStr(s).toLowerCase(),
  upper: (s) => toStr(s).toUpperCase(),
  pad: (s, l, r) => ' '.repeat(Number(l)) + toStr(s) + ' '.repeat(Number(r)),
  truncate: (s, n) => [...toStr(s)].slice(0, Number(n)).join(''),
  len: (v) => length(v),
  index,
  print,
  println: (...a) => a.map(goString).join(' ') + '\n',
  printf: (f, ...a) => sprintf(toStr(f), ...a),
  not: (v) => !truth(v),
  and: (...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b) < 0,
  le: (a, b) => cmp(a, b) <= 0,
  gt: (a, b) => cmp(a, b) > 0,
  ge: (a, b) => cmp(a, b) >= 0,
};
