// One error type for the whole daemon. The kind decides the HTTP status (as libnetwork's
// error kinds do); the message is Docker's own text so clients that match on it keep working.
export type ErrorKind =
  | 'InvalidParameter' // 400
  | 'Forbidden' // 403
  | 'NotFound' // 404
  | 'Conflict' // 409
  | 'NotImplemented' // 501
  | 'Unavailable' // 503
  | 'System'; // 500

const statusByKind: Record<ErrorKind, number> = {
  InvalidParameter: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  NotImplemented: 501,
  Unavailable: 503,
  System: 500,
};

export class WeftError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'WeftError';
  }
  get status(): number {
    return statusByKind[this.kind];
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
