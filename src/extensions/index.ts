export { createExtensionSet } from './extension.js';
export type { Extension, ExtensionContext, ExtensionSet, KpRequest, KpResponse } from './extension.js';
export { EPMX, createEpmxExtension } from './epmx/index.js';
