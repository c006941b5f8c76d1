import type { CommandRecord, CommandResult, CommandStatus, CommandTask, CommandTaskProgress, ConfigStatusRecord, ConfigurationRecord } from '../core/control.js';
import type { Iso, JsonValue, Page } from '../core/types.js';

/** Which configuration: of an endpoint (`endpointId`) or the version's default (`endpointId` ''). */
export interface ConfigKey {
  endpointId: string;
  appVersionName: string;
  name: string;
}

/** A configuration sent to (or answered to) a device: its status becomes DISPATCHED unless already confirmed. */
export interface Dispatch extends ConfigKey {
  configId: string;
  config: JsonValue;
  at: Iso;
}

/** 7/CMP `applied`: what the device made of a configuration. */
export interface Confirmation extends ConfigKey {
  configId: string;
  statusCode: number;
  reasonPhrase: string | null;
  at: Iso;
}

export interface StatusQuery {
  endpointId?: string;
  appVersionName?: string;
  configId?: string;
  name?: string;
  offset: number;
  limit: number;
}

export interface CommandQuery {
  endpointIds?: string[];
  applicationName?: string;
  commandTypes?: string[];
  statuses?: CommandStatus[];
  taskId?: string;
  offset: number;
  limit: number;
}

/** What became of each result a device reported. */
export interface ResultOutcome {
  /** Commands that were PENDING and are EXECUTED now. */
  executed: CommandRecord[];
  /** IDs that name no command of this endpoint and type. */
  unknown: number[];
  /** IDs of commands already EXECUTED or EXPIRED: nothing changed. */
  finished: number[];
}

/**
 * Configurations (Kaa ECR), their delivery statuses, and commands (Kaa CEX). Kept apart from
 * `Storage` like `AccountStorage`: these writes group-commit on their own connection, so a fleet's
 * worth of command results never waits behind metadata updates. Every backend passes
 * test/storage/control-conformance.ts.
 *
 * Durability: a returned promise resolves only after the change is committed.
 * Calls after `close()` reject with UNAVAILABLE.
 */
export interface ControlStorage {
  readonly kind: string;
  init(): Promise<void>;
  close(): Promise<void>;

  // --- configurations ------------------------------------------------------------------------
  getConfiguration(key: ConfigKey): Promise<ConfigurationRecord | undefined>;
  /**
   * Inserts or replaces. With `expectedConfigId` (HTTP If-Match), replaces only when the stored
   * document has that ID ('*': when one exists); resolves `conflict` otherwise and changes nothing.
   */
  putConfiguration(record: ConfigurationRecord, expectedConfigId?: string): Promise<'ok' | 'conflict'>;
  putConfigurations(records: ConfigurationRecord[]): Promise<void>;
  /** Same If-Match rule as put; `missing` when there was nothing to delete. */
  deleteConfiguration(key: ConfigKey, expectedConfigId?: string): Promise<'ok' | 'conflict' | 'missing'>;
  /** Whether the version has any configuration at all (an endpoint's or its default). */
  hasConfigurations(appVersionName: string): Promise<boolean>;
  /** Every named configuration of one endpoint (or of the default, `endpointId` ''), by name. */
  listConfigurations(endpointId: string, appVersionName: string): Promise<ConfigurationRecord[]>;
  /**
   * For each endpoint, its own configurations of the version (all names); used to find what is
   * effective for many endpoints at once (a new default pushed to a fleet).
   */
  endpointOverrides(appVersionName: string, name: string, endpointIds: readonly string[]): Promise<Set<string>>;

  // --- delivery statuses ----------------------------------------------------------------------
  recordDispatches(dispatches: readonly Dispatch[]): Promise<void>;
  /** Creates the status when the configuration was never dispatched (the device may have fetched it elsewhere). */
  recordConfirmation(confirmation: Confirmation): Promise<void>;
  /** The latest configuration ID the device confirmed with a 2xx status, per name ('' default). */
  appliedConfigIds(endpointId: string, appVersionName: string): Promise<Map<string, string>>;
  queryStatuses(query: StatusQuery): Promise<Page<ConfigStatusRecord>>;

  // --- commands --------------------------------------------------------------------------------
  /** Gives each command its `id` (assigned by the store, increasing) and stores them atomically. */
  insertCommands(commands: ReadonlyArray<Omit<CommandRecord, 'id'>>): Promise<CommandRecord[]>;
  getCommand(id: number): Promise<CommandRecord | undefined>;
  /** Whether any command of the application is PENDING (expired or not): a new session needs no read when none is. */
  hasPendingCommands(applicationName: string): Promise<boolean>;
  /** PENDING and not expired at `now`, oldest first; of one type or of all. */
  outstandingCommands(endpointId: string, now: Iso, commandType?: string): Promise<CommandRecord[]>;
  /** Marks commands as sent to a device session (does not change their status). */
  markDispatched(ids: readonly number[], at: Iso): Promise<void>;
  /** Applies results of one endpoint's commands of one type; only PENDING, unexpired commands change. */
  completeCommands(endpointId: string, commandType: string, results: readonly CommandResult[], at: Iso): Promise<ResultOutcome>;
  queryCommands(query: CommandQuery): Promise<Page<CommandRecord>>;
  /** The newest command of the type for the endpoint. */
  lastCommand(endpointId: string, commandType: string): Promise<CommandRecord | undefined>;
  deleteCommand(id: number): Promise<boolean>;
  /** PENDING commands whose time ran out become EXPIRED; returns them. */
  expireCommands(now: Iso, limit: number): Promise<CommandRecord[]>;
  /** Removes finished commands (and tasks) updated before `before`; returns how many commands. */
  pruneCommands(before: Iso): Promise<number>;

  insertTask(task: CommandTask): Promise<void>;
  getTask(taskId: string): Promise<CommandTaskProgress | undefined>;
  listTasks(applicationName: string | undefined, offset: number, limit: number): Promise<Page<CommandTaskProgress>>;

  /** The endpoint is gone: its configurations, statuses and commands go too. */
  deleteEndpoint(endpointId: string): Promise<void>;
  /**
   * The application is gone: every configuration and status of its versions (the defaults included)
   * and its command tasks go too, so a new application reusing a version name starts clean.
   */
  deleteApplication(applicationName: string, appVersionNames: readonly string[]): Promise<void>;
}
