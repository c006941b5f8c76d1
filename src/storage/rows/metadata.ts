import type { JsonValue, Metadata, MetadataChange } from '../../core/types.js';

/** Derived columns of one `endpoint_metadata` row. */
export interface MetadataIndexRow {
  canon: string;
  sortValue: number | string | null;
  searchText: string;
}

/** JSON with object keys sorted, so two JSON-equal values have the same text. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A value "rendered as text": strings as themselves, anything else as JSON. */
export function renderText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sortValueOf(value: JsonValue, canon: string): number | string | null {
  if (value === null) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return canon;
}

export function indexRowOf(value: JsonValue): MetadataIndexRow {
  const canon = canonicalJson(value);
  return { canon, sortValue: sortValueOf(value, canon), searchText: renderText(value).toLowerCase() };
}

// A separator no search term will realistically contain, so a match cannot span two values.
const SEPARATOR = '\u001f';

/**
 * Lower-cased endpoint ID and all metadata values (endpoints.search_text). Only searches for needles
 * under 3 characters scan it; longer ones use the trigram index (see schema.ts).
 */
export function endpointSearchText(endpointId: string, metadata: Metadata): string {
  const parts = [endpointId.toLowerCase()];
  for (const value of Object.values(metadata)) parts.push(renderText(value).toLowerCase());
  return parts.join(SEPARATOR);
}

export interface AppliedChange {
  metadata: Metadata;
  /** Keys whose value was created or changed. */
  upserted: string[];
  removed: string[];
}

/**
 * Computes the document after a change. Builds new objects with Object.fromEntries so a key such as
 * `__proto__` (allowed by the 10/EPMP key pattern) is an ordinary own property.
 */
export function applyChange(current: Metadata, change: MetadataChange): AppliedChange {
  const next = new Map(Object.entries(current));
  const upserted: string[] = [];
  const removed: string[] = [];
  switch (change.kind) {
    case 'replace': {
      // 10/EPMP `update`: the payload is the new state, absent keys are removed
      const incoming = new Map(Object.entries(change.metadata));
      for (const key of next.keys()) if (!incoming.has(key)) removed.push(key);
      for (const [key, value] of incoming) {
        if (!next.has(key) || canonicalJson(next.get(key)!) !== canonicalJson(value)) upserted.push(key);
      }
      return { metadata: Object.fromEntries(incoming) as Metadata, upserted, removed };
    }
    case 'merge': {
      // 10/EPMP `update/keys`: only the given keys are created or updated
      for (const [key, value] of Object.entries(change.metadata)) {
        if (!next.has(key) || canonicalJson(next.get(key)!) !== canonicalJson(value)) upserted.push(key);
        next.set(key, value);
      }
      break;
    }
    case 'delete': {
      // 10/EPMP `delete/keys`
      for (const key of change.keys) if (next.delete(key)) removed.push(key);
      break;
    }
  }
  return { metadata: Object.fromEntries(next) as Metadata, upserted, removed };
}
