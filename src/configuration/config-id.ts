import { createHash } from 'node:crypto';
import type { JsonValue } from '../core/types.js';

/** JSON with object keys sorted at every level: two documents that mean the same read the same. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

/**
 * 7/CMP configuration identifier: opaque to devices; here the content hash of the document, so
 * setting the same configuration again changes nothing and is never pushed twice.
 */
export function configIdOf(config: JsonValue): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 32);
}
