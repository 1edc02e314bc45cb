import { Etcd3, GRPCDeadlineExceededError, isRecoverableError, type IOptions } from 'etcd3';
import { WeftError } from '../common/errors.js';

// The etcd client every cluster user shares, and the key layout of weft's cluster state.
// Calls fail fast when etcd is away: each attempt has a 1.5 s deadline and a call gives up
// after 4 s across hosts, so an API request never hangs on a lost store.

export const PREFIX = '/weft/';
export const keys = {
  cluster: '/weft/swarm/cluster',
  caKey: '/weft/swarm/ca-key',
  nodes: '/weft/nodes/',
  node: (id: string) => `/weft/nodes/${id}`,
  alive: '/weft/alive/',
  aliveOf: (id: string) => `/weft/alive/${id}`,
};

export interface TlsFiles {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const ATTEMPT_MS = 1500;
const CALL_BUDGET_MS = 4000;

/** A retry policy in cockatiel's shape (etcd3 only calls execute): other hosts while the budget lasts. */
const budgetedRetry = {
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retryable = isRecoverableError(err as Error) || err instanceof GRPCDeadlineExceededError;
        if (!retryable || attempt >= 3 || Date.now() - started + ATTEMPT_MS > CALL_BUDGET_MS) throw err;
      }
    }
  },
};

export function openEtcd(hosts: string[], tls?: TlsFiles): Etcd3 {
  const options: IOptions = {
    hosts,
    dialTimeout: ATTEMPT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ATTEMPT_MS }),
    faultHandling: { global: budgetedRetry as unknown as NonNullable<IOptions['faultHandling']>['global'] },
  };
  if (tls) options.credentials = { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert };
  return new Etcd3(options);
}

/** Docker's answer when the managers have no quorum (swarmkit's errNoLeader). */
export const NO_LEADER = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

/** Whether an error means etcd could not be reached (rather than an answer from it). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof Error && (isRecoverableError(err) || err instanceof GRPCDeadlineExceededError || /deadline|unavailable|connect|ECONNREFUSED|No connection/i.test(err.message));
}

/** Runs a store call; an unreachable store becomes a 503 with `message` (and the cause). */
export async function storeCall<T>(message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WeftError) throw err;
    if (isUnreachable(err)) throw new WeftError('Unavailable', message);
    throw err;
  }
}
