export * from './cidr.js';
export * from './pools.js';
export * from './allocator.js';
export { IpamErrors } from './errors.js';
export { OrdinalSet } from './bitmap.js';
