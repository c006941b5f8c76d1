import { ApiError, request, type JsonValue, type Page } from '../api.js';
import type { ListFilters } from '../list/selection.js';

/**
 * Software versions (Kaa OTAO, `/otao/api/v1`), their packages and rollouts: the REST paths the CLI
 * and any Kaa OTAO client use (docs/software.md).
 */

const enc = encodeURIComponent;
const OTAO = '/otao/api/v1';

export type RolloutStrategy = 'suspended' | 'targeted' | 'general';
export const STRATEGIES: readonly RolloutStrategy[] = ['suspended', 'targeted', 'general'];

export interface SoftwareFilter {
  filterId: string;
  rolloutDate: string | null;
  query?: Record<string, JsonValue>;
}

export interface PackageInfo {
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
  uploadedAt: string;
}

export interface SoftwareRecord {
  applicationName: string;
  version: string;
  upgradableFrom: string[];
  specification: JsonValue;
  metadata: JsonValue;
  rolloutStrategy: RolloutStrategy;
  filters: SoftwareFilter[];
  package: PackageInfo | null;
  createdDate: string;
  updatedDate: string;
}

export interface SoftwareInput {
  upgradableFrom: string[];
  specification: JsonValue;
  metadata: JsonValue;
  rolloutStrategy: RolloutStrategy;
  filters: SoftwareFilter[];
}

export interface EndpointSoftware {
  endpointId: string;
  applicationName: string;
  version: string | null;
  reportedAt: string | null;
  lastFailure: { version: string; statusCode: number; reasonPhrase: string | null; at: string } | null;
  next: { version: string; reason: string } | null;
}

export interface SoftwareReport {
  version: string;
  statusCode: number;
  reasonPhrase: string | null;
  at: string;
}

export type RolloutState = 'running' | 'paused' | 'completed' | 'cancelled' | 'aborted';
export type DeviceState = 'pending' | 'offered' | 'applied' | 'failed' | 'timed_out' | 'skipped';
export const DEVICE_STATES: readonly DeviceState[] = ['pending', 'offered', 'applied', 'failed', 'timed_out', 'skipped'];
export const OPEN_STATES: ReadonlySet<RolloutState> = new Set(['running', 'paused']);

export type RolloutTarget = { appVersionName: string } | { query: Record<string, JsonValue> } | { endpointIds: string[] };

export interface RolloutRate {
  perMinute: number;
  growth?: { factor: number; everySuccesses: number };
}

export interface AbortRule {
  failurePercent: number;
  minAttempted: number;
  reportTimeoutSeconds?: number;
}

export interface Rollout {
  rolloutId: string;
  applicationName: string;
  version: string;
  target: RolloutTarget;
  rate: RolloutRate | null;
  abort: AbortRule | null;
  state: RolloutState;
  reason: string | null;
  counts: Record<DeviceState, number>;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutDevice {
  endpointId: string;
  state: DeviceState;
  reason: string | null;
  offeredAt: string | null;
  finishedAt: string | null;
}

export interface TimelinePoint {
  at: string;
  applied: number;
  failed: number;
}

export interface NewRollout {
  version: string;
  target: RolloutTarget;
  rate?: RolloutRate;
  abort?: AbortRule;
}

const softwarePath = (app: string, version?: string) => `${OTAO}/applications/${enc(app)}/software${version === undefined ? '' : `/${enc(version)}`}`;
const rolloutPath = (id: string) => `${OTAO}/rollouts/${enc(id)}`;

/** The Endpoint List's search and filters as a rollout target's query (GET /epr/api/v1/endpoints parameters). */
export function queryOf(filters: ListFilters): Record<string, JsonValue> {
  const query: Record<string, JsonValue> = {};
  if (filters.applicationVersionName) query['applicationVersionName'] = filters.applicationVersionName;
  if (filters.search) query['search'] = filters.search;
  if (filters.connected !== undefined) query['connected'] = filters.connected;
  if (filters.filter && filters.filter.length > 0) query['filter'] = filters.filter;
  return query;
}

export const softwareApi = {
  list: (app: string) => request<SoftwareRecord[]>('GET', softwarePath(app)),
  create: (app: string, version: string, input: SoftwareInput) => request<SoftwareRecord>('POST', softwarePath(app), { version, ...input }),
  update: (app: string, version: string, input: SoftwareInput) => request<SoftwareRecord>('PUT', softwarePath(app, version), input),
  remove: (app: string, version: string) => request<void>('DELETE', softwarePath(app, version)),
  removePackage: (app: string, version: string) => request<void>('DELETE', `${softwarePath(app, version)}/package`),
  packageUrl: (app: string, version: string) => `${softwarePath(app, version)}/package`,
  endpoint: (endpointId: string) => request<EndpointSoftware>('GET', `${OTAO}/endpoints/${enc(endpointId)}/software`),
  history: (endpointId: string, limit = 20) => request<Page<SoftwareReport>>('GET', `${OTAO}/endpoints/${enc(endpointId)}/software/history?offset=0&limit=${limit}`),

  rollouts: (app: string, limit = 20) => request<Page<Rollout>>('GET', `${OTAO}/applications/${enc(app)}/rollouts?offset=0&limit=${limit}`),
  startRollout: (app: string, input: NewRollout) => request<Rollout>('POST', `${OTAO}/applications/${enc(app)}/rollouts`, input),
  rollout: (id: string) => request<Rollout>('GET', rolloutPath(id)),
  devices: (id: string, state: DeviceState | undefined, limit = 50) =>
    request<Page<RolloutDevice>>('GET', `${rolloutPath(id)}/devices?offset=0&limit=${limit}${state ? `&state=${state}` : ''}`),
  timeline: (id: string) => request<TimelinePoint[]>('GET', `${rolloutPath(id)}/timeline`),
  change: (id: string, action: 'pause' | 'resume' | 'cancel') => request<Rollout>('POST', `${rolloutPath(id)}/${action}`),
};

/**
 * Uploads a package with progress (fetch reports no upload progress; XMLHttpRequest does). The
 * file streams from disk: the browser never holds it whole.
 */
export function uploadPackage(app: string, version: string, file: File, onProgress: (sent: number, total: number) => void, signal?: AbortSignal): Promise<PackageInfo> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `${softwarePath(app, version)}/package`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    // A header carries Latin-1 only: other names travel percent-encoded.
    xhr.setRequestHeader('x-file-name', /^[\x20-\x7e]*$/.test(file.name) ? file.name : encodeURIComponent(file.name));
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as PackageInfo);
      const problem = (body ?? {}) as { code?: string; message?: string };
      if (xhr.status === 413 && !problem.message) return reject(new ApiError(413, 'PACKAGE_TOO_LARGE', 'The package is larger than the server accepts (TETHER_PACKAGE_MAX_MB).'));
      reject(new ApiError(xhr.status, problem.code ?? `HTTP_${xhr.status}`, problem.message ?? `The server answered ${xhr.status}.`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'The upload broke off: the server cannot be reached. Check that tether is running, then try again.'));
    xhr.onabort = () => reject(new ApiError(0, 'ABORTED', 'Upload cancelled.'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const softwareUrl = (app: string) => `/software?app=${enc(app)}`;
export const rolloutUrl = (app: string, id: string) => `/rollouts/${enc(id)}?app=${enc(app)}`;
