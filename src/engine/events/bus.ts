import type { Logger } from '../../common/log.js';
import { toDockerEvent } from './docker.js';
import type { DockerEvent, EngineEvent, EngineEventBody } from '../../common/events.js';

// The engine's event bus. Services emit; followers subscribe (synchronously called, in emit order,
// each guarded: a failing follower is logged and the others still hear the event). The Docker face
// of the last events is kept in a ring, as dockerd keeps 256, so `docker events --since` can replay.

export const EVENT_HISTORY = 256;

export type Follower = (ev: EngineEvent) => void;

export class EventBus {
  private readonly followers = new Set<Follower>();
  private readonly dockerFollowers = new Set<(ev: DockerEvent) => void>();
  private readonly history: DockerEvent[] = [];
  private lastNano = 0n;

  constructor(private readonly log?: Logger) {}

  emit(body: EngineEventBody): EngineEvent {
    const ev = { ...body, timeNano: this.now() } as EngineEvent;
    for (const f of this.followers) this.call(f, ev);
    const docker = toDockerEvent(ev);
    if (docker) {
      this.history.push(docker);
      if (this.history.length > EVENT_HISTORY) this.history.shift();
      for (const f of this.dockerFollowers) this.call(f, docker);
    }
    return ev;
  }

  /** Every engine event from now on; returns the unsubscribe function. */
  subscribe(follower: Follower): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  /** Docker-shaped events from now on. */
  subscribeDocker(follower: (ev: DockerEvent) => void): () => void {
    this.dockerFollowers.add(follower);
    return () => this.dockerFollowers.delete(follower);
  }

  /** Kept Docker events with sinceNano <= timeNano <= untilNano. */
  past(sinceNano: bigint, untilNano: bigint | null): DockerEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNano && (untilNano === null || e.timeNano <= untilNano));
  }

  /** Strictly increasing, so that events emitted in one turn keep their order when sorted by time. */
  private now(): bigint {
    const wall = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    this.lastNano = wall > this.lastNano ? wall : this.lastNano + 1n;
    return this.lastNano;
  }

  private call<T>(f: (ev: T) => void, ev: T): void {
    try {
      f(ev);
    } catch (err) {
      this.log?.error({ err: String(err) }, 'event follower failed');
    }
  }
}
