export { MacvlanDriver, type MacvlanDriverOptions } from './macvlan.js';
export { parseMacvlanOptions, macvlanState, configOf, vlanPlan, dummyName, shimName, type MacvlanConfig, type VlanPlan } from './options.js';
export { joinHostSteps, shimSteps, vlanSteps, dummySteps, ownerAlias } from './commands.js';
export { unsupportedDriverError, kernelHasModule } from './unsupported.js';
