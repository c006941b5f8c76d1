import { request } from '../api.js';

/** The endpoint list's current filters, as the export and list APIs take them. */
export interface ListFilters {
  applicationName: string;
  applicationVersionName?: string;
  search?: string;
  connected?: boolean;
  filter?: string[];
  sort?: string;
}

function filterQuery(f: ListFilters): URLSearchParams {
  const q = new URLSearchParams({ applicationName: f.applicationName });
  if (f.applicationVersionName) q.set('applicationVersionName', f.applicationVersionName);
  if (f.search) q.set('search', f.search);
  if (f.connected !== undefined) q.set('connected', String(f.connected));
  for (const x of f.filter ?? []) q.append('filter', x);
  if (f.sort) q.set('sort', f.sort);
  return q;
}

/** A plain link: the browser streams the server's file to disk, however many endpoints match. */
export function exportUrl(format: 'csv' | 'json', f: ListFilters): string {
  const q = filterQuery(f);
  q.set('format', format);
  return `/api/v1/endpoints/export?${q.toString()}`;
}

export interface ImportResult {
  created: number;
  failed: Array<{ line: number; endpointId?: string; code: string; message: string }>;
  /** The generated (or supplied) tokens, only in this answer. */
  tokens: Array<{ endpointId: string; token: string }>;
}

/** POST /api/v1/endpoints/import with the file as it is (text/csv); rows failing do not stop the others. */
export async function importCsv(versionName: string, csv: Blob): Promise<ImportResult> {
  const q = versionName ? `?${new URLSearchParams({ appVersion: versionName }).toString()}` : '';
  return request<ImportResult>('POST', `/api/v1/endpoints/import${q}`, csv, 'text/csv');
}

const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function tokensCsv(tokens: ImportResult['tokens']): string {
  return ['endpointId,token', ...tokens.map((t) => `${csvCell(t.endpointId)},${csvCell(t.token)}`)].join('\r\n') + '\r\n';
}
