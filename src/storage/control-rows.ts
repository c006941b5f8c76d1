/** Rows of the control tables as both SQL dialects return them, and their mapping to domain records. */
import type { CommandRecord, CommandStatus, CommandTaskProgress, ConfigStatusKind, ConfigStatusRecord, ConfigurationRecord } from '../core/control.js';
import type { JsonValue } from '../core/types.js';

export const CONFIG_COLUMNS = 'endpoint_id, app_version_name, name, config_id, config, created_date, updated_date';
export const STATUS_COLUMNS =
  'endpoint_id, app_version_name, name, config_id, status, config, last_dispatched_date, last_confirmed_date, confirmation_status_code, confirmation_reason';
export const COMMAND_COLUMNS =
  'id, endpoint_id, application_name, command_type, status, request_payload, response_payload, status_code, reason_phrase, created_at, updated_at, expires_at, last_dispatched_at, task_id';

export interface ConfigRow {
  endpoint_id: string;
  app_version_name: string;
  name: string;
  config_id: string;
  config: string;
  created_date: string;
  updated_date: string;
}

export interface StatusRow {
  endpoint_id: string;
  app_version_name: string;
  name: string;
  config_id: string;
  status: string;
  config: string;
  last_dispatched_date: string | null;
  last_confirmed_date: string | null;
  confirmation_status_code: number | null;
  confirmation_reason: string | null;
}

export interface CommandRow {
  id: number | string;
  endpoint_id: string;
  application_name: string;
  command_type: string;
  status: string;
  request_payload: string;
  response_payload: string | null;
  status_code: number | null;
  reason_phrase: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string;
  last_dispatched_at: string | null;
  task_id: string | null;
}

export interface TaskRow {
  task_id: string;
  application_name: string;
  command_type: string;
  request_payload: string;
  created_at: string;
  expires_at: string;
  endpoint_count: number | string;
}

const parse = (text: string | null): JsonValue => (text === null ? null : (JSON.parse(text) as JsonValue));

export function toConfiguration(row: ConfigRow): ConfigurationRecord {
  return {
    endpointId: row.endpoint_id,
    appVersionName: row.app_version_name,
    name: row.name,
    configId: row.config_id,
    config: parse(row.config),
    createdDate: row.created_date,
    updatedDate: row.updated_date,
  };
}

export function toStatus(row: StatusRow): ConfigStatusRecord {
  return {
    endpointId: row.endpoint_id,
    appVersionName: row.app_version_name,
    name: row.name,
    configId: row.config_id,
    status: row.status as ConfigStatusKind,
    config: parse(row.config),
    lastDispatchedDate: row.last_dispatched_date,
    lastConfirmedDate: row.last_confirmed_date,
    confirmationStatusCode: row.confirmation_status_code === null ? null : Number(row.confirmation_status_code),
    confirmationReasonPhrase: row.confirmation_reason,
  };
}

export function toCommand(row: CommandRow): CommandRecord {
  return {
    id: Number(row.id),
    endpointId: row.endpoint_id,
    applicationName: row.application_name,
    commandType: row.command_type,
    status: row.status as CommandStatus,
    requestPayload: parse(row.request_payload),
    responsePayload: parse(row.response_payload),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    reasonPhrase: row.reason_phrase,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    lastDispatchedAt: row.last_dispatched_at,
    taskId: row.task_id,
  };
}

export function toTaskProgress(row: TaskRow, counts: ReadonlyArray<{ status: string; n: number | string }>): CommandTaskProgress {
  const of = (status: CommandStatus) => Number(counts.find((c) => c.status === status)?.n ?? 0);
  return {
    taskId: row.task_id,
    applicationName: row.application_name,
    commandType: row.command_type,
    requestPayload: parse(row.request_payload),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endpointCount: Number(row.endpoint_count),
    pending: of('PENDING'),
    executed: of('EXECUTED'),
    expired: of('EXPIRED'),
  };
}

/** 7/CMP: 2xx means applied; any other status code is a failure. */
export function confirmedStatus(statusCode: number): ConfigStatusKind {
  return statusCode >= 200 && statusCode < 300 ? 'APPLIED' : 'FAILED';
}
