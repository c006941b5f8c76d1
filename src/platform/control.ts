import path from 'node:path';
import type { EventBus } from '../bus/bus.js';
import { CommandService, type CommandSettings } from '../commands/service.js';
import { ConfigurationService } from '../configuration/service.js';
import type { TetherConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { ControlStorage } from '../storage/control.js';
import { openSqliteControlStorage } from '../storage/sqlite/control.js';
import type { Storage } from '../storage/storage.js';

/** Configurations (Kaa ECR/CMX) and commands (Kaa CEX) over their store: what a node serves to talk back to devices. */
export interface Control {
  store: ControlStorage;
  configurations: ConfigurationService;
  commands: CommandService;
  close(): Promise<void>;
}

/**
 * On SQLite, `control.db` beside `tether.db` in the data directory (its own writer: see
 * src/storage/sqlite/control.ts); on PostgreSQL, tables in the database every node shares.
 */
export async function openControlStorage(config: Pick<TetherConfig, 'storage' | 'dataDir'>): Promise<ControlStorage> {
  if (config.storage.kind === 'postgres') {
    const { openPostgresControlStorage } = await import('../storage/postgres/control.js');
    return openPostgresControlStorage({ url: config.storage.url });
  }
  return openSqliteControlStorage({ file: path.join(config.dataDir, 'control.db'), synchronous: config.storage.synchronous === 'normal' ? 'NORMAL' : 'FULL' });
}

export function createControl(deps: { store: ControlStorage; storage: Storage; bus: EventBus; services: Services; logger: Logger; commandSettings?: Partial<CommandSettings> }): Control {
  const { store, bus, services } = deps;
  const base = { store, bus, applications: services.applications, registry: services.registry };
  const configurations = new ConfigurationService({ ...base, settings: deps.storage, logger: deps.logger.child({ part: 'configuration' }) });
  const commands = new CommandService({ ...base, logger: deps.logger.child({ part: 'commands' }), ...(deps.commandSettings && { settings: deps.commandSettings }) });
  return {
    store,
    configurations,
    commands,
    async close() {
      configurations.close();
      commands.close();
    },
  };
}
