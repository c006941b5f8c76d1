export { createExtensionSet } from './extension.js';
export type { Extension, ExtensionContext, ExtensionSet, KpRequest, KpResponse } from './extension.js';
export { EPMX, createEpmxExtension } from './epmx/index.js';
export { DCX, createDcxExtension } from './dcx/index.js';
export type { DataSampleSink } from './dcx/index.js';
