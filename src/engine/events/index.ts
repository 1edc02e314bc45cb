export { EventBus, EVENT_HISTORY, type Follower } from './bus.js';
export { toDockerEvent, serializeDockerEvent } from './docker.js';
export { eventMatches } from './filter.js';
export { parseEventTime } from './time.js';
export type { EngineEvent, EngineEventBody, DockerEvent, NetworkAction, ConnectAction, ContainerAction } from '../../common/events.js';
