export { loadConfig, CONFIG_FLAGS, CONFIG_HELP } from './load.js';
export { defaultApplications, DEFAULTS } from './defaults.js';
export { parseFlags } from './flags.js';
export type { FlagSpec, FlagValues } from './flags.js';
export type { TetherConfig, StorageConfig, BusConfig, LogLevel, SqliteSynchronous } from './types.js';
