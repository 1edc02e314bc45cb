export { BridgeDriver, type BridgeDriverOptions } from './bridge.js';
export { parseBridgeOptions, bridgeState, configOf, type BridgeConfig } from './options.js';
export { vethName } from './commands.js';
