import { execFile } from 'node:child_process';

// `docker top`: ps(1) on the host, its lines kept when their PID is in the container's cgroup.
// As dockerd (daemon/top_unix.go): ps_args are ps's own, split on spaces (default -ef); ps is
// first asked for the container's PIDs only (-q), and run plain if that fails.

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** dockerd's check: a column may not be renamed to PID (it would fake the filter). */
export function validatePsArgs(psArgs: string): string | null {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) if (m[1] !== 'pid') return `specifying "${m[1]}=${m[2]}" is not allowed`;
  return null;
}

const fieldsAscii = (s: string) => s.split(/[ \t\n\r\v\f]+/).filter(Boolean);

export function parsePsOutput(output: string, pids: number[]): TopResult {
  const lines = output.split('\n');
  const titles = fieldsAscii(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new Error("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  const add = (f: string[]) => processes.push([...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')]);
  let previousKept = false; // thread lines ("-" as PID, ps -m) follow their process
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const f = fieldsAscii(line);
    if (f[pidIndex] === '-') {
      if (previousKept) add(f);
      continue;
    }
    const p = Number(f[pidIndex]);
    if (!Number.isInteger(p)) throw new Error(`Unexpected pid '${f[pidIndex]}': invalid syntax`);
    previousKept = wanted.has(p);
    if (previousKept) add(f);
  }
  return { Titles: titles, Processes: processes };
}

function ps(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 16 << 20, timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message.trim()}: ${String(stderr).trim()}`)) : resolve(stdout)));
  });
}

/** Runs ps with the user's arguments for these PIDs; throws ps's error text. */
export async function top(psArgs: string, pids: number[]): Promise<TopResult> {
  const args = psArgs.split(' ').filter(Boolean);
  let out: string;
  try {
    out = await ps([...args, '-q', pids.join(',')]);
  } catch {
    out = await ps(args);
  }
  return parsePsOutput(out, pids);
}
