// Docker's formatter output: Go's text/tabwriter (minwidth 10, padding 3, spaces) and the
// `table` prefix handling of --format (header row rendered from the same template).
import { S, typed } from './gotypes.js';
import { CliError } from './cli-util.js';
import { compileTemplate, TemplateError } from './template.js';

/** Aligns tab-separated cells like tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export function tabwrite(text: string, minwidth = 10, padding = 3): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const width = (s: string) => [...s].length;
  const out: string[] = [];
  const widths: number[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      let s = '';
      cells.forEach((c, j) => {
        if (j < widths.length && j < cells.length - 1) s += c + ' '.repeat(Math.max(0, widths[j] - width(c)));
        else s += c;
      });
      out.push(s);
    }
  };
  // Go's recursive column-block algorithm: a column's width is computed over the consecutive
  // lines that have a tab-terminated cell in that column.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = minwidth;
      for (; t < line1; t++) {
        if (column >= lines[t].length - 1) break;
        w = Math.max(w, width(lines[t][column]) + padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
      t--; // the outer loop's t++ must re-examine line t
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n');
}

export interface FormatSpec {
  /** The user's --format, or the command's default (e.g. `table {{.ID}}\t{{.Name}}`). */
  format: string;
  /** Header text per field name (docker's header context). */
  headers: Record<string, string>;
  /** Go type name of the formatter context, for error messages. */
  typeName: string;
  /** Prefix for execution errors (docker's ps says "failed to execute template"). */
  execErrorPrefix?: string;
}

/** Replaces the literal `\t` and `\n` users type in shells, as docker's formatter does. */
function unescape(f: string): string {
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** Renders rows (objects of formatter fields) with a docker --format string. */
export function renderRows(spec: FormatSpec, rows: Record<string, unknown>[]): string {
  let f = spec.format;
  const isTable = f.startsWith('table');
  if (isTable) f = f.slice('table'.length).trim();
  f = unescape(f);
  if (isTable && f === '') f = '';
  let tmpl;
  try {
    tmpl = compileTemplate(f);
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
  const fields = Object.keys(spec.headers);
  const ctx = (row: Record<string, unknown>) =>
    typed(
      row,
      S.struct(
        spec.typeName,
        fields.map((k) => [k, S.any]),
      ),
    );
  const parts: string[] = [];
  if (isTable) {
    const header: Record<string, unknown> = {};
    for (const k of fields) header[k] = spec.headers[k];
    // Methods with arguments (e.g. .Label "k") render as their column title.
    for (const [k, v] of Object.entries(rows[0] ?? {})) if (typeof v === 'function') header[k] = () => spec.headers[k] ?? '';
    parts.push(tmpl.execute(ctx(header)) + '\n');
  }
  try {
    for (const row of rows) parts.push(tmpl.execute(ctx(row)) + '\n');
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`${spec.execErrorPrefix ?? 'template parsing error'}: ${e.message}`, 1);
    throw e;
  }
  const text = parts.join('');
  return isTable ? tabwrite(text) : text;
}
