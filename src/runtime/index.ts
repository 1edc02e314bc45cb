export { ConmonRuntime, type ConmonRuntimeOptions, type StartTimings } from './conmon.js';
export { ImageStore, normalizeRef, type ImageConfig } from './images.js';
export type * from './types.js';
