import { parse } from 'csv-parse/sync';
import { errors, isTetherError, toTetherError } from '../core/errors.js';
import type { Services } from '../core/services.js';
import type { Metadata } from '../core/types.js';
import { METADATA_COLUMN_PREFIX, decodeCell } from './cells.js';

export interface ImportResult {
  created: number;
  failed: Array<{ line: number; endpointId: string | null; code: string; message: string }>;
  /** The plain tokens of the created endpoints: shown once, never stored. */
  tokens: Array<{ line: number; endpointId: string; token: string }>;
}

// Rows are created this many at a time, so the storage's group commit writes them together.
const CONCURRENCY = 200;

interface Row {
  line: number;
  endpointId?: string;
  appVersion?: string;
  token?: string;
  metadata: Metadata;
}

/** Reads the CSV (header row first); rejects VALIDATION_FAILED when it is not CSV or lacks needed columns. */
export function parseImportCsv(text: string, defaultAppVersion: string | undefined): Row[] {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (err) {
    throw errors.validation(`the CSV cannot be read (${(err as Error).message.split('\n')[0]})`);
  }
  const [header, ...rows] = records;
  if (!header) throw errors.validation('the CSV is empty; send a header row (endpointId,appVersion,token,metadata.<key>…) and one row per endpoint');
  const col = (name: string) => header.indexOf(name);
  const idCol = col('endpointId');
  const versionCol = col('appVersion');
  const tokenCol = col('token');
  if (versionCol < 0 && defaultAppVersion === undefined) {
    throw errors.validation('the CSV has no appVersion column; add one, or pass appVersion=<application version> (--app-version)');
  }
  const metadataCols = header.flatMap((name, index) => (name.startsWith(METADATA_COLUMN_PREFIX) ? [{ key: name.slice(METADATA_COLUMN_PREFIX.length), index }] : []));
  return rows.map((cells, i) => {
    const cell = (index: number) => (index >= 0 ? (cells[index] ?? '').trim() : '');
    const metadata: Metadata = {};
    for (const { key, index } of metadataCols) {
      const value = decodeCell(cells[index] ?? '');
      if (value !== undefined) metadata[key] = value;
    }
    const row: Row = { line: i + 2, metadata };
    if (cell(idCol) !== '') row.endpointId = cell(idCol);
    const version = cell(versionCol) || defaultAppVersion;
    if (version !== undefined) row.appVersion = version;
    if (cell(tokenCol) !== '') row.token = cell(tokenCol);
    return row;
  });
}

/** Creates the endpoints; a failing row does not stop the others. */
export async function importEndpoints(services: Services, rows: Row[]): Promise<ImportResult> {
  const result: ImportResult = { created: 0, failed: [], tokens: [] };
  for (let start = 0; start < rows.length; start += CONCURRENCY) {
    const chunk = rows.slice(start, start + CONCURRENCY);
    const outcomes = await Promise.allSettled(
      chunk.map((row) =>
        services.registry.createEndpoint({
          appVersionName: row.appVersion ?? '',
          metadata: row.metadata,
          ...(row.endpointId !== undefined && { endpointId: row.endpointId }),
          ...(row.token !== undefined && { endpointToken: row.token }),
        }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      const row = chunk[i]!;
      if (outcome.status === 'fulfilled') {
        result.created++;
        result.tokens.push({ line: row.line, endpointId: outcome.value.endpoint.endpointId, token: outcome.value.token });
      } else {
        const error = toTetherError(outcome.reason);
        if (!isTetherError(outcome.reason)) throw error;
        result.failed.push({ line: row.line, endpointId: row.endpointId ?? null, code: error.code, message: error.message });
      }
    });
  }
  return result;
}
