import type { JsonValue } from '../api.js';
import { formatValue } from '../format.js';

export interface Change {
  /** `metadata.model`, `tokens.<id>`, `role`… */
  path: string;
  before: string | undefined;
  after: string | undefined;
}

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Token lists compare by token ID, so a status change reads as one line per token. */
function normalize(value: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(value) && value.every((t) => isObject(t) && typeof t.tokenId === 'string')) {
    return Object.fromEntries(value.map((t) => [String((t as Record<string, JsonValue>).tokenId), (t as Record<string, JsonValue>).status ?? null]));
  }
  return value;
}

/**
 * The differences between two snapshots, one level into objects (metadata keys, token statuses),
 * so an audit line says "model: A300 → A310" rather than two JSON blobs.
 */
export function diff(before: Record<string, JsonValue> | null | undefined, after: Record<string, JsonValue> | null | undefined, prefix = ''): Change[] {
  const changes: Change[] = [];
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  for (const key of keys) {
    const b = normalize(before?.[key]);
    const a = normalize(after?.[key]);
    const path = prefix ? `${prefix}.${key}` : key;
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    if (!prefix && (isObject(b) || isObject(a)) && (b === undefined || isObject(b)) && (a === undefined || isObject(a))) {
      changes.push(...diff(b as Record<string, JsonValue> | undefined, a as Record<string, JsonValue> | undefined, path));
    } else {
      changes.push({ path, before: b === undefined ? undefined : formatValue(b), after: a === undefined ? undefined : formatValue(a) });
    }
  }
  return changes;
}
