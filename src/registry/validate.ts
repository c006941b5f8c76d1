import { errors } from '../core/errors.js';
import { ENDPOINT_ID_PATTERN, METADATA_KEY_PATTERN } from '../core/names.js';
import type { Metadata, MetadataChange } from '../core/types.js';

export function checkEndpointId(id: string): string {
  if (typeof id !== 'string' || !ENDPOINT_ID_PATTERN.test(id)) throw errors.endpointIdInvalid(String(id));
  return id;
}

/** 10/EPMP: metadata keys match ^[a-zA-Z0-9_]+$. */
function checkKeys(keys: Iterable<string>): void {
  for (const key of keys) {
    if (typeof key !== 'string' || !METADATA_KEY_PATTERN.test(key)) throw errors.metadataKeyInvalid(String(key));
  }
}

export function checkMetadata(metadata: unknown): Metadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw errors.validation('metadata must be a JSON object');
  }
  checkKeys(Object.keys(metadata));
  return metadata as Metadata;
}

export function checkChange(change: MetadataChange): void {
  if (change.kind === 'delete') {
    if (!Array.isArray(change.keys)) throw errors.validation('keys must be an array of metadata keys');
    checkKeys(change.keys);
  } else {
    checkMetadata(change.metadata);
  }
}
