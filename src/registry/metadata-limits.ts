import { errors } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { JsonValue, Metadata } from '../core/types.js';

export type MetadataLimits = Pick<Limits, 'maxMetadataKeys' | 'maxMetadataValueBytes' | 'maxMetadataDepth'>;

/**
 * Whether a JSON value nests containers deeper than `max` (`1` -> 0, `[1]` -> 1, `{"a":[1]}` -> 2).
 * Iterative, so a hostile value cannot overflow the stack here, and it never descends past `max`.
 */
function depthExceeds(value: JsonValue, max: number): boolean {
  // Scalars (nearly every value a device reports) have no depth to walk.
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ value: JsonValue; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** Each value's nesting depth and serialized size; depth first, so serializing cannot overflow the stack. */
export function checkMetadataValues(metadata: Metadata, limits: MetadataLimits): void {
  // for...in, not Object.entries: no array of pairs per device message. Metadata is parsed JSON
  // (own properties only; `__proto__` included as an own key).
  for (const key in metadata) {
    const value = metadata[key]!;
    if (depthExceeds(value, limits.maxMetadataDepth)) throw errors.metadataValueTooDeep(key, limits.maxMetadataDepth);
    // Short strings and scalars cannot reach the limit; skip serializing them.
    if (typeof value !== 'object' || value === null) {
      if (typeof value !== 'string' || value.length * 3 + 2 <= limits.maxMetadataValueBytes) continue;
    }
    if (Buffer.byteLength(JSON.stringify(value), 'utf8') > limits.maxMetadataValueBytes) {
      throw errors.metadataValueTooLarge(key, limits.maxMetadataValueBytes);
    }
  }
}

export function checkMetadataKeyCount(count: number, limits: MetadataLimits): void {
  if (count > limits.maxMetadataKeys) throw errors.metadataTooManyKeys(limits.maxMetadataKeys);
}
