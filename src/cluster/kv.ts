import type { Etcd3, IOptions } from 'etcd3';
import { WeftError } from '../common/errors.js';

// The etcd client every cluster user shares, and the key layout of weft's cluster state.
// etcd3 (and gRPC under it) is loaded at the first cluster use: ~0.5 s of CPU that a weftd
// outside any cluster should not pay at start.
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

let lib: typeof import('etcd3') | undefined;

async function etcdLib(): Promise<typeof import('etcd3')> {
  return (lib ??= await import('etcd3'));
}

/** A retry policy in cockatiel's shape (etcd3 only calls execute): other hosts while the budget lasts. */
const budgetedRetry = {
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retryable = isUnreachable(err);
        if (!retryable || attempt >= 3 || Date.now() - started + ATTEMPT_MS > CALL_BUDGET_MS) throw err;
      }
    }
  },
};

type Policies = Required<NonNullable<IOptions['faultHandling']>>;
// async: etcd3's markFailed runs a throwing function through it and catches the returned promise.
const passThrough = { execute: async <T>(fn: () => Promise<T>) => fn() };

export async function openEtcd(hosts: string[], tls?: TlsFiles): Promise<Etcd3> {
  const { Etcd3 } = await etcdLib();
  const options: IOptions = {
    hosts,
    dialTimeout: ATTEMPT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ATTEMPT_MS }),
    // No per-host circuit breaker (etcd3's default opens for 5 s after three failures, and etcd's
    // "unhealthy cluster" refusals of membership changes count as failures): the retry above
    // moves on to the next host instead.
    faultHandling: { global: budgetedRetry as unknown as Policies['global'], host: () => passThrough as unknown as ReturnType<Policies['host']> },
  };
  if (tls) options.credentials = { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert };
  return new Etcd3(options);
}

/** Docker's answer when the managers have no quorum (swarmkit's errNoLeader). */
export const NO_LEADER = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

/** Whether an error means etcd could not be reached (rather than an answer from it). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (lib !== undefined && (lib.isRecoverableError(err) || err instanceof lib.GRPCDeadlineExceededError)) || /deadline|unavailable|connect|ECONNREFUSED|No connection|circuit breaker/i.test(err.message);
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

/**
 * etcd refuses a membership change ("etcdserver: unhealthy cluster") until the leader has been
 * connected to every peer for 5 s, e.g. right after a member joined: retry it for a while.
 */
export async function retryReconfig<T>(fn: () => Promise<T>, budgetMs = 12_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!/unhealthy cluster/.test(String((err as Error)?.message)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
