export { Kernel, type KernelOptions, type IpBatchOptions } from './kernel.js';
export { parseBatchFailures, isExists, isGone, type BatchFailure } from './batch.js';
export { TABLE, baseTableScript, networkElements, fullTableScript, type NftNetwork } from './nft.js';
export { combineErrors } from './exec.js';
