import { AsyncLocalStorage } from 'node:async_hooks';

// Every request runs in a scope that outlives its handler's promise: the callbacks of the streams
// it opens (attach, exec, logs -f, wait, events, stats) run in it too. The scope's signal
// aborts when the request is over — answered, or its client gone — so a stream ends with its
// request and never with the daemon. An error that escapes every handler (a throw in a stream
// callback) reaches the daemon's safety net, which finds the request it belongs to here and
// fails that request alone.

export interface RequestScope {
  readonly method: string;
  readonly url: string;
  /** Aborted once the request is over: its answer was sent, or its client went away. */
  readonly signal: AbortSignal;
  /** Answers 500 {"message"} if nothing was sent yet, else drops the connection; no-op once over. */
  fail(err: unknown): void;
}

const store = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return store.run(scope, fn);
}

/** The request whose handling is running now (undefined outside any request). */
export function currentScope(): RequestScope | undefined {
  return store.getStore();
}

/** The error a handler sees when its client is gone (never answered: there is no one to answer). */
export class ClientGone extends Error {
  constructor() {
    super('client went away');
    this.name = 'ClientGone';
  }
}

/** Rejects with ClientGone when the signal aborts; resolves with `p` otherwise. */
export function unlessGone<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new ClientGone());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ClientGone());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
