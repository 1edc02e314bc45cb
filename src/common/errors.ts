// One error type for the whole daemon. The kind decides the HTTP status (as libnetwork's and
// moby's errdefs kinds do); the message is Docker's own text so clients that match on it keep
// working. This table is the one place a kind's status is decided (README lists it; a unit test
// checks that every kind is documented there and mapped here).

export const ERROR_KINDS = {
  InvalidParameter: { status: 400, doc: 'the request is malformed, or asks for something Docker refuses (errdefs.InvalidParameter)' },
  Forbidden: { status: 403, doc: 'allowed in general, not on this object: a predefined network, a network with endpoints (errdefs.Forbidden)' },
  NotFound: { status: 404, doc: 'no such network, container, image, exec instance, plugin or pool (errdefs.NotFound)' },
  Conflict: { status: 409, doc: 'the object\'s state or a name in use forbids it: a running container, a taken name (errdefs.Conflict)' },
  System: { status: 500, doc: 'weft or the kernel failed (errdefs.System); also Docker\'s own 500 answers that clients expect' },
  NotImplemented: { status: 501, doc: 'a Docker feature weft does not have, or one this kernel lacks a module for (errdefs.NotImplemented)' },
  Unavailable: { status: 503, doc: 'not now: no swarm, the cluster store unreachable, an address pool exhausted (errdefs.Unavailable)' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

export class WeftError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'WeftError';
  }
  get status(): number {
    return ERROR_KINDS[this.kind].status;
  }
}

export const invalid = (message: string) => new WeftError('InvalidParameter', message);
export const forbidden = (message: string) => new WeftError('Forbidden', message);
export const notFound = (message: string) => new WeftError('NotFound', message);
export const conflict = (message: string) => new WeftError('Conflict', message);
export const notImplemented = (message: string) => new WeftError('NotImplemented', message);
export const unavailable = (message: string) => new WeftError('Unavailable', message);
export const systemError = (message: string) => new WeftError('System', message);

/** HTTP status for any thrown value: WeftError by kind, anything else is a 500. */
export function statusOf(err: unknown): number {
  return err instanceof WeftError ? err.status : 500;
}
