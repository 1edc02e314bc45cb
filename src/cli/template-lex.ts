// Go text/template subset: splitting source into text/actions, and tokenizing actions.
import { TemplateError } from './template-types.js';

export interface Tok {
  k: 'field' | 'var' | 'ident' | 'lit' | 'op';
  v: string;
  chain?: string[];
  lit?: unknown;
  adj: boolean; // no whitespace before this token
  off: number; // offset in the action body (Go reports chain errors at the second element)
}
export interface Segment {
  text?: string;
  action?: string;
  pos: number;
}

/** Splits source into text and action segments, applying {{- and -}} trimming. */
export function segments(src: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ text, pos: i });
      break;
    }
    let j = open + 2;
    const trimPrev = src.startsWith('- ', j) || src.startsWith('-\t', j) || src.startsWith('-\n', j);
    if (trimPrev) text = text.replace(/\s+$/, '');
    if (text) out.push({ text, pos: i });
    let quote = '';
    for (; j < src.length; j++) {
      const c = src[j];
      if (quote) {
        if (c === '\\' && quote !== '`') j++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (c === '}' && src[j + 1] === '}') break;
    }
    if (j >= src.length) throw new TemplateError(`template: :1: unclosed action`);
    let body = src.slice(open + 2 + (trimPrev ? 1 : 0), j);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    out.push({ action: body, pos: open + 2 + (trimPrev ? 1 : 0) });
    i = j + 2;
  }
  return out;
}

const IDENT = /[A-Za-z0-9_]/;

export function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let adj = false;
  const chainAt = (start: number): [string[], number] => {
    const chain: string[] = [];
    let j = start;
    while (s[j] === '.' && j + 1 <= s.length) {
      let k = j + 1;
      while (k < s.length && IDENT.test(s[k])) k++;
      if (k === j + 1) {
        if (chain.length === 0 && (j + 1 >= s.length || !IDENT.test(s[j + 1]))) return [chain, j + 1];
        break;
      }
      chain.push(s.slice(j + 1, k));
      j = k;
    }
    return [chain, j];
  };
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
      adj = false;
      continue;
    }
    const start = i;
    const push = (t: Omit<Tok, 'adj' | 'off'>) => {
      const second = t.k === 'field' && (t.chain?.length ?? 0) > 1 ? t.chain![0].length + 1 : 0;
      toks.push({ ...t, adj, off: start + second });
      adj = true;
    };
    if (c === '.') {
      const [chain, j] = chainAt(i);
      push({ k: 'field', v: s.slice(i, j), chain });
      i = j;
    } else if (c === '$') {
      let j = i + 1;
      while (j < s.length && IDENT.test(s[j])) j++;
      const name = s.slice(i, j);
      const [chain, k] = s[j] === '.' ? chainAt(j) : [[], j];
      push({ k: 'var', v: name, chain });
      i = k;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < s.length && s[j] !== c) j += s[j] === '\\' && c === '"' ? 2 : 1;
      if (j >= s.length) throw new TemplateError('template: :1: unterminated quoted string');
      const raw = s.slice(i, j + 1);
      push({ k: 'lit', v: raw, lit: c === '`' ? raw.slice(1, -1) : JSON.parse(raw) });
      i = j + 1;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?)/.exec(s.slice(i));
      if (!m) throw new TemplateError(`template: :1: bad number syntax: ${s.slice(i)}`);
      push({ k: 'lit', v: m[0], lit: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < s.length && IDENT.test(s[j])) j++;
      const w = s.slice(i, j);
      if (w === 'true' || w === 'false') push({ k: 'lit', v: w, lit: w === 'true' });
      else if (w === 'nil') push({ k: 'lit', v: w, lit: null });
      else push({ k: 'ident', v: w });
      i = j;
    } else if (s.startsWith(':=', i)) {
      push({ k: 'op', v: ':=' });
      i += 2;
    } else if ('|(),='.includes(c)) {
      push({ k: 'op', v: c });
      i++;
    } else {
      throw new TemplateError(`template: :1: unexpected "${c}" in command`);
    }
  }
  return toks;
}
