import { constants } from 'node:os';
import { invalid } from '../common/errors.js';

// Query parameters that dockerd parses strictly, with its texts: a bad one is the client's 400,
// never a default silently applied (stop?t=abc stopped with 10 s) nor a runtime's 500
// (kill?signal=NOSUCH reached runc).

/** Go's strconv.Atoi over a query value; null when absent or empty. */
export function intParam(q: URLSearchParams, name: string): number | null {
  const v = q.get(name);
  if (v === null || v === '') return null;
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalid(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

const LINUX_SIGNALS = new Set(Object.keys(constants.signals).map((s) => s.slice(3)));
const RT = /^RTM(IN(\+([1-9]|1[0-5]))?|AX(-([1-9]|1[0-4]))?)$/;
const MAX_SIGNAL = 64;

/**
 * moby's signal.ParseSignal and ValidSignalForPlatform: a number 1-64, or a name with or
 * without SIG (any case), RTMIN+n and RTMAX-n included. Returns the name form runc takes.
 */
export function parseSignal(raw: string): string {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0) throw invalid(`Invalid signal: ${raw}`);
    if (n > MAX_SIGNAL) throw invalid(`the linux daemon does not support signal ${raw}`);
    return raw;
  }
  const name = raw.toUpperCase().replace(/^SIG/, '');
  if (!LINUX_SIGNALS.has(name) && !RT.test(name)) throw invalid(`Invalid signal: ${raw}`);
  return `SIG${name}`;
}
