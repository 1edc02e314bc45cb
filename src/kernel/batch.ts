// Reading `ip -batch` / `bridge -batch` failures (the command path). With -force, ip keeps going
// after a failing line and prints, for each failure, the error text followed by
// "Command failed -:<line>"; without it, it stops at the first. parseBatchFailures maps those back
// to the input lines, and codeOf gives each message the errno name the agent would report, so
// callers judge failures the same way on both paths.

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

const CODES: [RegExp, string][] = [
  [/File exists/i, 'EEXIST'],
  [/Cannot find device|No such device|does not exist/i, 'ENODEV'],
  [/No such process/i, 'ESRCH'],
  [/No such file or directory/i, 'ENOENT'],
  [/Cannot assign requested address|Address not found/i, 'EADDRNOTAVAIL'],
  [/Unknown device type|Operation not supported|not supported/i, 'EOPNOTSUPP'],
  [/Device or resource busy/i, 'EBUSY'],
  [/Numerical result out of range/i, 'ERANGE'],
  [/Network is unreachable/i, 'ENETUNREACH'],
  [/Operation not permitted/i, 'EPERM'],
  [/Permission denied/i, 'EACCES'],
  [/Invalid argument/i, 'EINVAL'],
];

/** The errno name behind an iproute2/nft/sysctl message ('EIO' when it names none). */
export function codeOf(message: string): string {
  for (const [re, code] of CODES) if (re.test(message)) return code;
  return 'EIO';
}
