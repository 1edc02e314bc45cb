// Docker prints times in Go's RFC3339Nano layout: nanoseconds with trailing zeros trimmed.
export function nowRfc3339Nano(): string {
  const ms = Date.now();
  const nanosInMs = Number(process.hrtime.bigint() % 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (String(ms % 1000).padStart(3, '0') + String(nanosInMs).padStart(6, '0')).replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

export function unixSeconds(rfc3339: string): number {
  return Math.floor(Date.parse(rfc3339) / 1000);
}

/** go-units HumanDuration, which Docker prints in "Up 5 seconds" and "3 hours ago". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}
