import { ApiError, request, send, type EndpointListParams, type JsonValue } from '../api.js';

/**
 * Configurations (Kaa ECR, `/ecr/api/v1`) and commands (Kaa CEX, `/cex/api/v1`): the same REST
 * paths any Kaa client uses (docs/dashboard.md, Configurations and commands).
 */

const enc = encodeURIComponent;
const ECR = '/ecr/api/v1';
const CEX = '/cex/api/v1';

/** The REST name of the default (unnamed) configuration. */
export const DEFAULT_NAME = 'default';

export interface Configuration {
  configId: string;
  name: string;
  config: JsonValue;
  createdDate: string;
  updatedDate: string;
}

/** A configuration as loaded, with the ETag a conditional write names in If-Match. */
export interface LoadedConfiguration {
  configuration: Configuration;
  etag: string;
}

export type ConfigStatusKind = 'PENDING' | 'DISPATCHED' | 'APPLIED' | 'FAILED';

export interface ConfigStatus {
  endpointId: string;
  appVersionName: string;
  name: string;
  configId: string;
  status: ConfigStatusKind;
  lastDispatchedDate: string | null;
  lastConfirmedDate: string | null;
  confirmationStatusCode: number | null;
  confirmationReasonPhrase: string | null;
}

export type CommandStatus = 'PENDING' | 'EXECUTED' | 'EXPIRED';

export interface Command {
  commandId: string;
  commandType: string;
  endpointId: string;
  status: CommandStatus;
  statusCode: number | null;
  reasonPhrase: string | null;
  requestPayload: JsonValue;
  responsePayload: JsonValue;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  lastDispatchedAt: string | null;
}

export interface TaskProgress {
  taskId: string;
  commandType: string;
  endpointCount: number;
  pending: number;
  executed: number;
  expired: number;
  expiresAt: string;
}

/** A command payload as typed: JSON (sent as application/json) or text (text/plain). */
export interface Payload {
  value: JsonValue;
  asText: boolean;
}

/** 11/CEP command types and 7/CMP configuration names share this alphabet. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

const versionPath = (appVersion: string) => `${ECR}/app-versions/${enc(appVersion)}`;
const endpointPath = (endpointId: string, appVersion: string) => `${ECR}/endpoints/${enc(endpointId)}/app-versions/${enc(appVersion)}`;
const nameQuery = (name: string) => `?name=${enc(name)}`;
const quoted = (etag: string) => `"${etag}"`;
/** The ETag header's value without quotes (or the weak marker). */
const unquote = (header: string | null) => header?.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

async function loadOne(url: string): Promise<LoadedConfiguration | null> {
  try {
    const answer = await send<Configuration>('GET', url);
    return { configuration: answer.body, etag: unquote(answer.etag) ?? answer.body.configId };
  } catch (err) {
    // 404: none by that name (the endpoint then runs its version's default, if any).
    if (err instanceof ApiError && err.code === 'CONFIGURATION_NOT_FOUND') return null;
    throw err;
  }
}

export const configurationsApi = {
  /** Names of the endpoint's own configurations and of its version's defaults. */
  async lists(endpointId: string, appVersion: string): Promise<{ own: string[]; defaults: string[] }> {
    const [own, defaults] = await Promise.all([
      request<Configuration[]>('GET', `${endpointPath(endpointId, appVersion)}/configurations`),
      request<Configuration[]>('GET', `${versionPath(appVersion)}/configurations`),
    ]);
    return { own: own.map((c) => c.name), defaults: defaults.map((c) => c.name) };
  },
  own: (endpointId: string, appVersion: string, name: string) => loadOne(`${endpointPath(endpointId, appVersion)}${nameQuery(name)}`),
  versionDefault: (appVersion: string, name: string) => loadOne(`${versionPath(appVersion)}${nameQuery(name)}`),
  /** Conditional on `etag` when the endpoint already had one: 412 when it changed since. */
  async save(endpointId: string, appVersion: string, name: string, config: JsonValue, etag: string | undefined): Promise<LoadedConfiguration> {
    const answer = await send<Configuration>('PUT', `${endpointPath(endpointId, appVersion)}${nameQuery(name)}`, {
      // A JSON `null` body must still be sent as the document "null".
      body: config,
      ...(etag !== undefined && { headers: { 'if-match': quoted(etag) } }),
    });
    return { configuration: answer.body, etag: unquote(answer.etag) ?? answer.body.configId };
  },
  remove: (endpointId: string, appVersion: string, name: string, etag: string | undefined) =>
    send<void>('DELETE', `${endpointPath(endpointId, appVersion)}${nameQuery(name)}`, etag === undefined ? {} : { headers: { 'if-match': quoted(etag) } }),
  statuses: (endpointId: string, size = 20) =>
    request<{ content: ConfigStatus[]; totalElements: number }>('GET', `${ECR}/statuses?endpointId=${enc(endpointId)}&size=${size}`),
  /** Kaa ECR batch: the same configuration as the own one of every endpoint, grouped by application version. */
  setMany: (byVersion: Record<string, string[]>, name: string, config: JsonValue) =>
    request<{ updated: number }>('PUT', `${ECR}/endpoints/batch${nameQuery(name)}`, { configPayload: config, endpoints: byVersion }),
};

function payloadBody(payload: Payload): { body: unknown; contentType: string } {
  return payload.asText ? { body: typeof payload.value === 'string' ? payload.value : JSON.stringify(payload.value), contentType: 'text/plain' } : { body: payload.value, contentType: 'application/json' };
}

export const commandsApi = {
  /** 200: the device answered within `awaitSeconds`; 202: still pending. */
  async send(endpointId: string, commandType: string, payload: Payload, awaitSeconds: number, ttlSeconds: number): Promise<{ command: Command; pending: boolean }> {
    const q = new URLSearchParams({ awaitTimeout: String(awaitSeconds), commandTtl: String(ttlSeconds * 1000) });
    const answer = await send<Command>('POST', `${CEX}/endpoints/${enc(endpointId)}/commands/${enc(commandType)}?${q.toString()}`, payloadBody(payload));
    return { command: answer.body, pending: answer.status === 202 };
  },
  list: (endpointId: string, limit = 50) => request<Command[]>('GET', `${CEX}/endpoints/commands?endpointId=${enc(endpointId)}&limit=${limit}`),
  batchByEndpoints: (commandType: string, endpointIds: string[], payload: JsonValue, ttlSeconds: number) =>
    request<{ taskId: string }>('POST', `${CEX}/endpoints/commands/${enc(commandType)}/batch/by-endpoints`, { payload, endpointIds, commandTtl: ttlSeconds * 1000 }),
  /** Every endpoint the list's search and filters match, decided by the server when the task starts. */
  batchByQuery: (commandType: string, filters: Omit<EndpointListParams, 'offset' | 'limit'>, payload: JsonValue, ttlSeconds: number) => {
    const q = new URLSearchParams({ applicationName: filters.applicationName });
    if (filters.applicationVersionName) q.set('applicationVersionName', filters.applicationVersionName);
    if (filters.search) q.set('search', filters.search);
    if (filters.connected !== undefined) q.set('connected', String(filters.connected));
    for (const f of filters.filter ?? []) q.append('filter', f);
    return request<{ taskId: string; endpointCount: number }>('POST', `${CEX}/endpoints/commands/${enc(commandType)}/batch/by-query?${q.toString()}`, { payload, commandTtl: ttlSeconds * 1000 });
  },
  task: (taskId: string) => request<TaskProgress>('GET', `${CEX}/endpoints/commands/batch/tasks/${enc(taskId)}`),
};

/**
 * Reads the JSON typed in an editor. The error names the line and column, which a textarea does not
 * show, so the operator can find the mistake.
 */
export function parseJson(text: string): { value: JsonValue } | { error: string } {
  if (text.trim() === '') return { error: 'The document is empty. Write a JSON value, e.g. {} or {"interval": 10}.' };
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /position (\d+)/.exec(message);
    let where = '';
    if (at && !/line \d+/.test(message)) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      where = ` (line ${line}, column ${column})`;
    }
    return { error: `Not valid JSON: ${message}${where}.` };
  }
}

/** JSON as operators read it: indented, strings too (so a text payload shows its quotes). */
export const pretty = (value: JsonValue) => JSON.stringify(value, null, 2);
