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
