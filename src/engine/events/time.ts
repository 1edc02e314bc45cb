import { invalid } from '../../common/errors.js';

// Docker's `since`/`until` values (api/types/time GetTimestamp + ParseTimestamps): a unix time
// with an optional fraction ("1700000000", "1700000000.000000123"), a Go duration before now
// ("10m", "1h30m"), or an RFC 3339 date/time (a date alone is midnight UTC). Returns nanoseconds.

const UNITS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

export function parseEventTime(value: string, nowNano: bigint): bigint {
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (unix) return BigInt(unix[1]) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0') || '0');
  const duration = parseGoDuration(value);
  if (duration !== null) return nowNano - duration;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const frac = /\.(\d{1,9})/.exec(value)?.[1] ?? '';
    const ms = Date.parse(/T|\s/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value.replace(' ', 'T')}Z` : value.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  throw invalid(`failed to parse value as time or duration: "${value}"`);
}

function parseGoDuration(value: string): bigint | null {
  const re = /(\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0n;
  let end = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += BigInt(m[1]) * UNITS[m[2]];
    end = re.lastIndex;
  }
  return end > 0 && end === value.length ? total : null;
}
