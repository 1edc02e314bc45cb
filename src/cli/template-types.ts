// Types for a hand-written subset of Go's text/template: parsing. Execution lives in template-exec.ts.
// Supported: text, {{- -}} trimming, comments, pipelines with |, fields (.A.B), variables ($, $x,
// $x.A), literals, parenthesised pipelines, function calls, {{$x := ...}}, if/else if/else,
// range (with `$i, $v :=`), with, and end.

export type Arg =
  | { t: 'field'; chain: string[]; off?: number }
  | { t: 'var'; name: string; chain: string[]; off?: number }
  | { t: 'ident'; name: string }
  | { t: 'lit'; v: unknown }
  | { t: 'pipe'; pipe: Pipe; chain: string[] };
export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
  src: string;
  pos: number;
}
export type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; body: Node[]; els: Node[] | null };

export class TemplateError extends Error {}

