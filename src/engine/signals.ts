import { constants } from 'node:os';
import { invalid } from '../common/errors.js';

// Signals as the API names them ("SIGTERM", "TERM", "15") and as Docker's events report them (the number).

export function signalNumber(signal: string): number {
  if (/^\d+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw invalid(`Invalid signal: ${signal}`);
  return n;
}
