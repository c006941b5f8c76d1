export { createExtensionSet } from './extension.js';
export type { Extension, ExtensionContext, ExtensionSet, KpRequest, KpResponse } from './extension.js';
export { EPMX, createEpmxExtension } from './epmx/index.js';
export { DCX, createDcxExtension } from './dcx/index.js';
export type { DataSampleSink } from './dcx/index.js';
export { CMX, createCmxExtension } from './cmx/index.js';
export type { CmxOptions, ConfigurationSource } from './cmx/index.js';
export { CEX, createCexExtension } from './cex/index.js';
export type { CommandSource } from './cex/index.js';
