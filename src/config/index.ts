export { loadConfig, CONFIG_FLAGS, CONFIG_HELP, TLS_FILE_SETTINGS } from './load.js';
export { defaultApplications, DEFAULTS } from './defaults.js';
export { parseFlags } from './flags.js';
export type { FlagSpec, FlagValues } from './flags.js';
export type { TetherConfig, StorageConfig, BusConfig, LogLevel, SqliteSynchronous, TlsConfig } from './types.js';
