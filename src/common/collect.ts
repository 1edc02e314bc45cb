import { systemError } from './errors.js';

// Teardown and restore keep going past failures and report every error together (netavark's way).

/** Several errors reported as one (teardown keeps going and reports everything). */
export function combineErrors(what: string, errors: unknown[]): Error | null {
  if (errors.length === 0) return null;
  if (errors.length === 1) return errors[0] instanceof Error ? errors[0] : systemError(String(errors[0]));
  const text = errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  return systemError(`${what}: ${errors.length} errors: ${text}`);
}

/** Runs teardown and restore steps one by one, keeping going past failures, then reports them together. */
export class ErrorCollector {
  private readonly errors: unknown[] = [];

  async attempt(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.errors.push(err);
    }
  }

  throwIfAny(what: string): void {
    const err = combineErrors(what, this.errors);
    if (err) throw err;
  }
}
