export { Kernel, type KernelOptions, type IpBatchOptions } from './kernel.js';
export { parseBatchFailures, isExists, isGone, type BatchFailure } from './batch.js';
export { TABLE, baseTableScript, networkElements, portElements, fullTableScript, type NftNetwork, type NftPort } from './nft.js';
