// Go text/template subset: parsing segments and tokens into a node tree.
import { segments, tokenize, type Segment, type Tok } from './template-lex.js';
import { TemplateError, type Arg, type Node, type Pipe } from './template-types.js';

const KEYWORDS = new Set(['if', 'range', 'with', 'else', 'end', 'define', 'template', 'block']);

class Parser {
  private i = 0;
  constructor(private readonly segs: Segment[]) {}

  /** Parses nodes until {{end}} / {{else ...}}; returns the terminator's tokens. */
  list(inBlock: boolean): { nodes: Node[]; term: Tok[] | null } {
    const nodes: Node[] = [];
    while (this.i < this.segs.length) {
      const seg = this.segs[this.i++];
      if (seg.text !== undefined) {
        nodes.push({ t: 'text', s: seg.text });
        continue;
      }
      const body = seg.action!.trim();
      const pos = seg.pos + (seg.action!.length - seg.action!.trimStart().length);
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) throw new TemplateError('template: :1: unclosed comment');
        continue;
      }
      const toks = tokenize(body);
      if (toks.length === 0) throw new TemplateError(`template: :1: missing value for command`);
      const kw = toks[0].k === 'ident' && KEYWORDS.has(toks[0].v) ? toks[0].v : '';
      if (kw === 'end' || kw === 'else') {
        if (!inBlock) throw new TemplateError(`template: :1: unexpected {{${kw}}}`);
        return { nodes, term: toks };
      }
      if (kw === 'if' || kw === 'range' || kw === 'with') {
        nodes.push(this.control(kw, toks.slice(1), pos, body));
      } else if (kw) {
        throw new TemplateError(`template: :1: {{${kw}}} is not supported`);
      } else {
        nodes.push({ t: 'action', pipe: this.pipe(toks, pos, body) });
      }
    }
    if (inBlock) throw new TemplateError('template: :1: unexpected EOF');
    return { nodes, term: null };
  }

  private control(kw: 'if' | 'range' | 'with', toks: Tok[], pos: number, src: string): Node {
    const pipe = this.pipe(toks, pos, src);
    const { nodes: body, term } = this.list(true);
    let els: Node[] | null = null;
    if (term && term[0].v === 'else') {
      const rest = term.slice(1);
      if (rest.length > 0 && rest[0].k === 'ident' && (rest[0].v === 'if' || rest[0].v === 'with')) {
        // {{else if ...}} is sugar for {{else}}{{if ...}}...{{end}} sharing our {{end}}.
        els = [this.control(rest[0].v as 'if' | 'with', rest.slice(1), pos, src)];
        return { t: kw, pipe, body, els };
      }
      const r = this.list(true);
      if (!r.term || r.term[0].v !== 'end') throw new TemplateError('template: :1: expected end; found else');
      els = r.nodes;
    }
    return { t: kw, pipe, body, els };
  }

  pipe(toks: Tok[], pos: number, src: string): Pipe {
    const p: Pipe = { decl: [], assign: false, cmds: [], src, pos };
    // Declarations: $x := / $x = / $i, $v :=
    const opIdx = toks.findIndex((t) => t.k === 'op' && (t.v === ':=' || t.v === '='));
    if (opIdx > 0 && toks.slice(0, opIdx).every((t) => (t.k === 'var' && !t.chain?.length) || t.v === ',')) {
      p.decl = toks.slice(0, opIdx).filter((t) => t.k === 'var').map((t) => t.v);
      p.assign = toks[opIdx].v === '=';
      toks = toks.slice(opIdx + 1);
    }
    let cmd: Arg[] = [];
    let j = 0;
    while (j < toks.length) {
      const t = toks[j];
      if (t.k === 'op' && t.v === '|') {
        if (cmd.length === 0) throw new TemplateError(`template: :1: missing command`);
        p.cmds.push(cmd);
        cmd = [];
        j++;
        continue;
      }
      const [arg, next] = this.operand(toks, j, pos, src);
      cmd.push(arg);
      j = next;
    }
    if (cmd.length === 0) throw new TemplateError(`template: :1: missing value for command`);
    p.cmds.push(cmd);
    return p;
  }

  private operand(toks: Tok[], j: number, pos: number, src: string): [Arg, number] {
    const t = toks[j];
    switch (t.k) {
      case 'field':
        return [{ t: 'field', chain: t.chain ?? [], off: t.off }, j + 1];
      case 'var':
        return [{ t: 'var', name: t.v, chain: t.chain ?? [], off: t.off }, j + 1];
      case 'lit':
        return [{ t: 'lit', v: t.lit }, j + 1];
      case 'ident':
        return [{ t: 'ident', name: t.v }, j + 1];
      default:
        if (t.v !== '(') throw new TemplateError(`template: :1: unexpected "${t.v}" in operand`);
    }
    let depth = 0;
    let k = j;
    for (; k < toks.length; k++) {
      if (toks[k].v === '(' && toks[k].k === 'op') depth++;
      if (toks[k].v === ')' && toks[k].k === 'op' && --depth === 0) break;
    }
    if (k >= toks.length) throw new TemplateError('template: :1: unclosed left paren');
    const inner = this.pipe(toks.slice(j + 1, k), pos, src);
    const after = toks[k + 1];
    if (after && after.k === 'field' && after.adj && after.chain?.length) {
      return [{ t: 'pipe', pipe: inner, chain: after.chain }, k + 2];
    }
    return [{ t: 'pipe', pipe: inner, chain: [] }, k + 1];
  }
}

/** Parses a template; throws TemplateError on syntax errors. */
export function parseTemplate(src: string): Node[] {
  const p = new Parser(segments(src));
  return p.list(false).nodes;
}
