export { BridgeDriver, type BridgeDriverOptions } from './bridge.js';
export { macFromIPv4, macFromNetworkId } from './mac.js';
export { parseBridgeOptions, bridgeState, configOf, type BridgeConfig } from './options.js';
export { vethName } from './commands.js';
