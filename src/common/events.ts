import type { ContainerRecord, EndpointRecord, NetworkRecord } from './model.js';

// What the services announce. Each event carries the records it is about, so that followers (the
// embedded DNS, the firewall, `docker events`, later the topology page) need no store round trip.
// Some are internal (no Docker counterpart): `docker events` never shows them.

export type NetworkAction = 'create' | 'update' | 'destroy' | 'remove';
export type ConnectAction = 'connect' | 'disconnect';
export type ContainerAction = 'create' | 'start' | 'die' | 'kill' | 'stop' | 'restart' | 'destroy' | 'rename' | 'update';

export type EngineEventBody =
  | { type: 'network'; action: NetworkAction; network: NetworkRecord }
  /** A global network another host removed, or this node left the cluster: forgotten here. Internal. */
  | { type: 'network'; action: 'forgotten'; network: NetworkRecord }
  /** A lazy driver made the network's kernel objects (its gateway address now exists). Internal. */
  | { type: 'network'; action: 'realized'; network: NetworkRecord }
  | { type: 'network'; action: ConnectAction; network: NetworkRecord; endpoint: EndpointRecord; container: ContainerRecord }
  | { type: 'container'; action: ContainerAction; container: ContainerRecord; attributes?: Record<string, string> };

export type EngineEvent = EngineEventBody & {
  /** Nanoseconds since the epoch, when it was emitted. */
  timeNano: bigint;
};

/** Docker's events.Message, as GET /events streams it. */
export interface DockerEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: bigint;
}
