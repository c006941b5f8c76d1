import type { EventBus } from '../bus/bus.js';
import { CommandService, type CommandSettings } from '../commands/service.js';
import { ConfigurationService } from '../configuration/service.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { ControlStorage } from '../storage/control.js';
import type { Storage } from '../storage/storage.js';

/** Configurations (Kaa ECR/CMX) and commands (Kaa CEX) over their store: what a node serves to talk back to devices. */
export interface Control {
  store: ControlStorage;
  configurations: ConfigurationService;
  commands: CommandService;
  close(): Promise<void>;
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
