// Go text/template subset used by --format: compile once, execute per item.
import { goString, isTypedNil, schemaOf, truth, zeroOf } from './gotypes.js';
import { FUNCS } from './template-funcs.js';
import { parseTemplate } from './template-parse.js';
import { TemplateError, type Arg, type Node, type Pipe } from './template-types.js';

export { TemplateError } from './template-types.js';

export interface TemplateOptions {
  /** Go's missingkey=error (docker inspect): a missing map key is an error, not <no value>. */
  missingKeyError?: boolean;
}

interface Var {
  name: string;
  value: unknown;
}

class Exec {
  private vars: Var[] = [];
  private cur: Arg | undefined; // the field/variable being evaluated, for error positions
  constructor(private readonly opts: TemplateOptions) {}

  run(nodes: Node[], dot: unknown, out: string[]): void {
    for (const n of nodes) {
      if (n.t === 'text') out.push(n.s);
      else if (n.t === 'action') {
        const v = this.pipe(n.pipe, dot);
        if (n.pipe.decl.length === 0) out.push(goString(v));
      } else if (n.t !== 'range') {
        const mark = this.vars.length;
        const v = this.pipe(n.pipe, dot);
        if (truth(v)) this.run(n.body, n.t === 'with' ? v : dot, out);
        else if (n.els) this.run(n.els, dot, out);
        this.vars.length = mark;
      } else this.range(n as Extract<Node, { body: Node[] }>, dot, out);
    }
  }

  private range(n: Extract<Node, { body: Node[] }>, dot: unknown, out: string[]): void {
    const mark = this.vars.length;
    const decl = n.pipe.decl;
    const v = this.eval({ ...n.pipe, decl: [] }, dot);
    let entries: [unknown, unknown][] = [];
    if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
    else if (typeof v === 'object' && v !== null && !isTypedNil(v)) {
      if (schemaOf(v)?.k === 'struct') throw new TemplateError(`range can't iterate over ${goString(v)}`);
      const o = v as Record<string, unknown>;
      entries = Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]);
    } else if (typeof v === 'number') entries = Array.from({ length: v }, (_x, i) => [i, i]);
    else if (v !== null && v !== undefined && !isTypedNil(v)) {
      throw new TemplateError(`range can't iterate over ${goString(v)}`);
    }
    if (entries.length === 0 && n.els) this.run(n.els, dot, out);
    for (const [k, e] of entries) {
      this.vars.length = mark;
      if (decl.length === 1) this.vars.push({ name: decl[0], value: e });
      if (decl.length >= 2) this.vars.push({ name: decl[0], value: k }, { name: decl[1], value: e });
      this.run(n.body, e, out);
    }
    this.vars.length = mark;
  }

  private pipe(p: Pipe, dot: unknown): unknown {
    const v = this.eval(p, dot);
    if (p.decl.length) {
      if (p.assign) {
        const existing = [...this.vars].reverse().find((x) => x.name === p.decl[0]);
        if (!existing) throw new TemplateError(`template: :1: undefined variable: ${p.decl[0]}`);
        existing.value = v;
      } else this.vars.push({ name: p.decl[0], value: v });
    }
    return v;
  }

  private eval(p: Pipe, dot: unknown): unknown {
    let prev: unknown;
    p.cmds.forEach((cmd, i) => {
      prev = this.command(cmd, dot, i > 0, prev, p);
    });
    return prev;
  }

  private command(cmd: Arg[], dot: unknown, piped: boolean, prev: unknown, p: Pipe): unknown {
    const [first, ...rest] = cmd;
    const args = () => [...rest.map((a) => this.arg(a, dot, p)), ...(piped ? [prev] : [])];
    if (first.t === 'ident') {
      const fn = FUNCS[first.name];
      if (!fn) throw new TemplateError(`template: :1: function "${first.name}" not defined`);
      return this.wrap(p, () => fn(...args()));
    }
    if (first.t === 'field' && first.chain.length > 0 && (rest.length > 0 || piped)) {
      // Method call with arguments: {{.Label "k"}}
      this.cur = first;
      const recv = this.walk(dot, first.chain.slice(0, -1), p);
      const m = this.field(recv, first.chain[first.chain.length - 1], p);
      if (typeof m !== 'function') {
        throw this.err(p, `can't give argument to non-function .${first.chain.join('.')}`);
      }
      return this.wrap(p, () => (m as (...a: unknown[]) => unknown)(...args()));
    }
    if (rest.length > 0 || piped) throw this.err(p, `can't give argument to non-function`);
    return this.arg(first, dot, p);
  }

  private arg(a: Arg, dot: unknown, p: Pipe): unknown {
    switch (a.t) {
      case 'lit':
        return a.v;
      case 'field':
        this.cur = a;
        return this.walk(dot, a.chain, p);
      case 'pipe':
        return this.walk(this.eval(a.pipe, dot), a.chain, p);
      case 'ident': {
        const fn = FUNCS[a.name];
        if (!fn) throw new TemplateError(`template: :1: function "${a.name}" not defined`);
        return this.wrap(p, () => fn());
      }
      case 'var': {
        const base = a.name === '$' ? this.vars[0] : [...this.vars].reverse().find((x) => x.name === a.name);
        if (!base) throw new TemplateError(`template: :1: undefined variable "${a.name}"`);
        this.cur = a;
        return this.walk(base.value, a.chain, p);
      }
    }
  }

  private walk(v: unknown, chain: string[], p: Pipe): unknown {
    let cur = v;
    for (const name of chain) {
      cur = this.field(cur, name, p);
      if (typeof cur === 'function' && chain[chain.length - 1] !== name) cur = (cur as () => unknown)();
    }
    // Methods without parameters are called like Go's niladic methods.
    if (typeof cur === 'function' && chain.length > 0 && (cur as () => unknown).length === 0) return (cur as () => unknown)();
    return cur;
  }

  private field(recv: unknown, name: string, p: Pipe): unknown {
    if (recv === null || recv === undefined || isTypedNil(recv) && schemaOf(recv)?.k !== 'map') {
      throw this.err(p, `nil pointer evaluating interface {}.${name}`);
    }
    if (typeof recv !== 'object' || Array.isArray(recv)) {
      throw this.err(p, `can't evaluate field ${name} in type ${Array.isArray(recv) ? '[]interface {}' : typeof recv}`);
    }
    const o = recv as Record<string, unknown>;
    const s = schemaOf(o);
    if (Object.prototype.hasOwnProperty.call(o, name)) return o[name];
    if (s?.k === 'struct') {
      const f = s.fields.find(([n]) => n === name);
      if (f) return zeroOf(f[1]);
      // docker inspect retries on the raw JSON map with missingkey=error.
      if (this.opts.missingKeyError) throw this.err(p, `map has no entry for key "${name}"`);
      throw this.err(p, `can't evaluate field ${name} in type ${s.name}`);
    }
    if (this.opts.missingKeyError) throw this.err(p, `map has no entry for key "${name}"`);
    return undefined;
  }

  private wrap(p: Pipe, f: () => unknown): unknown {
    this.cur = undefined;
    try {
      return f();
    } catch (e) {
      if (e instanceof TemplateError && !e.message.startsWith('template:')) throw this.err(p, e.message);
      throw e;
    }
  }

  private err(p: Pipe, msg: string): TemplateError {
    const a = this.cur;
    if (a && (a.t === 'field' || a.t === 'var')) {
      const text = (a.t === 'var' ? a.name : '') + a.chain.map((c) => `.${c}`).join('');
      return new TemplateError(`template: :1:${p.pos + (a.off ?? 0)}: executing "" at <${text}>: ${msg}`);
    }
    return new TemplateError(`template: :1:${p.pos}: executing "" at <${p.src.trim()}>: ${msg}`);
  }
}

export interface Template {
  execute(data: unknown): string;
}

/** Compiles a Go-style template. Throws TemplateError on syntax errors. */
export function compileTemplate(src: string, opts: TemplateOptions = {}): Template {
  const nodes = parseTemplate(src);
  return {
    execute(data: unknown): string {
      const ex = new Exec(opts);
      (ex as unknown as { vars: Var[] }).vars = [{ name: '$', value: data }];
      const out: string[] = [];
      ex.run(nodes, data, out);
      return out.join('');
    },
  };
}

export function renderTemplate(src: string, data: unknown, opts: TemplateOptions = {}): string {
  return compileTemplate(src, opts).execute(data);
}
