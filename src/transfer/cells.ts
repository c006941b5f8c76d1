/**
 * How one metadata value sits in one CSV cell (docs/accounts.md, "Export"): a string as its text,
 * anything else as JSON, and a string that would read as JSON JSON-quoted, so export then import
 * gives back exactly the same values and types. An empty cell means "no such key".
 */
import type { JsonValue } from '../core/types.js';

function readsAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function encodeCell(value: JsonValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value === '' || readsAsJson(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

export function decodeCell(cell: string): JsonValue | undefined {
  if (cell === '') return undefined;
  try {
    return JSON.parse(cell) as JsonValue;
  } catch {
    return cell;
  }
}

export const METADATA_COLUMN_PREFIX = 'metadata.';
/** Columns export writes before the metadata; import ignores those it does not use. */
export const EXPORT_COLUMNS = ['endpointId', 'appVersion', 'createdDate', 'connected', 'lastSeen'] as const;
