export { loadConfig } from './load.js';
export { CONFIG_FLAGS, CONFIG_HELP, TLS_FILE_SETTINGS, dataDirFor } from './settings.js';
export { defaultApplications, DEFAULTS } from './defaults.js';
export { parseFlags } from './flags.js';
export type { FlagSpec, FlagValues } from './flags.js';
export type { TetherConfig, StorageConfig, BusConfig, LogLevel, SqliteSynchronous, TlsConfig } from './types.js';
