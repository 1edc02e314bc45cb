// Helpers for `ip -batch -` (one process for many link/addr/route commands).
// With -force, ip keeps going after a failing line and prints, for each failure, the error text
// followed by "Command failed -:<line>". parseBatchFailures maps those back to the input lines
// so callers can tolerate the failures they expect (e.g. "File exists" when re-creating a
// bridge, "Cannot find device" when deleting one that is already gone).

export interface BatchFailure {
  /** 1-based line number in the batch. */
  line: number;
  command: string;
  error: string;
}

export function parseBatchFailures(stderr: string, lines: string[]): BatchFailure[] {
  const failures: BatchFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const m = /^Command failed (?:-|\S+):(\d+)\s*$/.exec(raw);
    if (m) {
      const line = Number(m[1]);
      failures.push({ line, command: lines[line - 1] ?? '', error: pending.join(' ').trim() || 'failed' });
      pending = [];
    } else if (raw.trim()) {
      pending.push(raw.trim());
    }
  }
  return failures;
}

/** Failures that mean "already there" (for add) — safe to ignore when re-creating. */
export const isExists = (f: BatchFailure) => /File exists/i.test(f.error);

/** Failures that mean "already gone" (for delete) — safe to ignore when removing. */
export const isGone = (f: BatchFailure) =>
  /Cannot find device|No such device|does not exist|No such process|Cannot assign requested address/i.test(f.error);

/** Quotes nothing: ip -batch splits on whitespace, so reject arguments that would break a line. */
export function assertBatchSafe(value: string, what: string): string {
  if (!value || /[\s"'\\#]/.test(value)) throw new Error(`unsafe ${what} for ip batch: ${JSON.stringify(value)}`);
  return value;
}
