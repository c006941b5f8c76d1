/**
 * Talking back to devices: configurations (Kaa ECR/CMX, 7/CMP) and commands (Kaa CEX, 11/CEP).
 * Domain types shared by storage, the services, the extensions, the REST API and the dashboard.
 */
import type { Iso, JsonValue } from './types.js';

/** 7/CMP: the unnamed configuration; `?name=default` over REST means the same (Kaa's REST client sends it). */
export const DEFAULT_CONFIG_NAME = '';

/** A stored configuration document: for one endpoint, or the default of an application version (`endpointId` ''). */
export interface ConfigurationRecord {
  /** '' for the application version's default, which every endpoint without its own falls back to. */
  endpointId: string;
  appVersionName: string;
  /** '' for the default (unnamed) configuration; otherwise a 7/CMP configuration name. */
  name: string;
  /** Content hash of `config`: the same document always has the same ID, so it is never pushed twice. */
  configId: string;
  config: JsonValue;
  createdDate: Iso;
  updatedDate: Iso;
}

/** Where a configuration was delivered and what the device said of it (7/CMP `applied`). */
export type ConfigStatusKind = 'PENDING' | 'DISPATCHED' | 'APPLIED' | 'FAILED';

export interface ConfigStatusRecord {
  endpointId: string;
  appVersionName: string;
  name: string;
  configId: string;
  status: ConfigStatusKind;
  config: JsonValue;
  lastDispatchedDate: Iso | null;
  lastConfirmedDate: Iso | null;
  confirmationStatusCode: number | null;
  confirmationReasonPhrase: string | null;
}

/**
 * 11/CEP command life: PENDING until the device reports a result (EXECUTED, whatever its status
 * code) or its time to live runs out (EXPIRED). Delivery does not change the status: a command
 * sent to a device that went away is still outstanding, not "delivered".
 */
export type CommandStatus = 'PENDING' | 'EXECUTED' | 'EXPIRED';

export interface CommandRecord {
  /** 11/CEP `id`: an integer unique within the endpoint and command type (here: unique everywhere). */
  id: number;
  endpointId: string;
  applicationName: string;
  commandType: string;
  status: CommandStatus;
  requestPayload: JsonValue;
  /** What the device answered (11/CEP result `payload`). */
  responsePayload: JsonValue;
  statusCode: number | null;
  reasonPhrase: string | null;
  createdAt: Iso;
  updatedAt: Iso;
  /** After this the command is never delivered and becomes EXPIRED. */
  expiresAt: Iso;
  /** Last time it was sent to a device session (null: never). */
  lastDispatchedAt: Iso | null;
  /** The batch it belongs to, when it was sent to many endpoints at once. */
  taskId: string | null;
}

/** 11/CEP result of one command, as a device reports it. */
export interface CommandResult {
  id: number;
  statusCode: number;
  reasonPhrase?: string;
  payload?: JsonValue;
}

/** A command sent to many endpoints at once (Kaa CEX batch task). */
export interface CommandTask {
  taskId: string;
  applicationName: string;
  commandType: string;
  requestPayload: JsonValue;
  createdAt: Iso;
  expiresAt: Iso;
  endpointCount: number;
}

export interface CommandTaskProgress extends CommandTask {
  pending: number;
  executed: number;
  expired: number;
}

/** 7/CMP configuration names (^[a-zA-Z0-9_-]+$), bounded so that a name fits a topic. */
export const CONFIG_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** 11/CEP command types: "a non-empty alpha-numeric string"; `_` and `-` allowed as in configuration names. */
export const COMMAND_TYPE_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** The key under which a channel remembers the configuration ID it was last sent (DeviceChannel.noteSent). */
export function configSentKey(instance: string, name: string): string {
  return `${instance}:${name}`;
}
