// The docker CLI's display helpers: go-units HumanDuration/HumanSize, Go time.Time.String(),
// stringid.TruncateID, formatter.Ellipsis and port listings.

export { humanDuration } from '../common/time.js';

/** go-units HumanSizeWithPrecision(size, 3): decimal units, %.3g. */
export function humanSize(size: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(precision))}${units[i]}`;
}

export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** Truncates to `max` characters, the last one replaced by an ellipsis. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function zone(date: Date): string {
  const off = -date.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const hhmm = `${sign}${pad(Math.trunc(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
  if (off === 0 && (process.env.TZ === undefined || /^(UTC|Etc\/UTC|UTC0|)$/.test(process.env.TZ))) {
    return `${hhmm} UTC`;
  }
  const name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName')?.value;
  return `${hhmm} ${name && /^[A-Z]{2,5}$/.test(name) ? name : hhmm}`;
}

/** time.Unix(secs, 0).String() in the local zone: `2006-01-02 15:04:05 -0700 MST`. */
export function goLocalTime(secs: number): string {
  const d = new Date(secs * 1000);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone(d)}`;
}

/** time.Time.String() of an RFC 3339 timestamp, keeping its zone and nanoseconds. */
export function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = (m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  const zoneText = m[4] === 'Z' ? '+0000 UTC' : `${m[4].replace(':', '')} ${m[4].replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac} ${zoneText}`;
}

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** formatter.DisplayablePorts, without the range-collapsing of consecutive ports. */
export function displayPorts(ports: ApiPort[] | null | undefined): string {
  const items = (ports ?? []).map((p) => {
    if (p.PublicPort === undefined || p.PublicPort === 0) return `${p.PrivatePort}/${p.Type}`;
    const ip = p.IP ?? '';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    return `${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`;
  });
  return [...new Set(items)].sort().join(', ');
}

/** time.Unix(0, nanos).Format("2006-01-02T15:04:05.000000000Z07:00") in the local zone (docker events). */
export function goRfc3339NanoFixed(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const zoneText = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const frac = String(((nanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).padStart(9, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac}${zoneText}`;
}
