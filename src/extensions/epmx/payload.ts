import { isUtf8 } from 'node:buffer';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { errors } from '../../core/errors.js';
import type { TetherError } from '../../core/errors.js';
import type { JsonValue, Metadata } from '../../core/types.js';
import { deleteMetadataKeysRequestSchema, getMetadataRequestSchema, updateMetadataRequestSchema } from './schemas/index.js';

/** What each request must look like, quoted in error messages so a device author knows what to send. */
const EXPECTED = {
  get: 'a 10/EPMP get request: a zero-byte payload, {} or {"keys":["name"]}',
  update: 'a 10/EPMP update request: a JSON object of metadata key-value pairs, e.g. {"name":"Sensor 1"}',
  delete: 'a 10/EPMP delete request: a non-empty JSON array of metadata keys, e.g. ["location"]',
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });

/**
 * The schemas declare draft-04; the keywords they use mean the same in ajv's default draft,
 * so they are compiled without `$schema`. Compiled once, at module load, never per message.
 */
function compile(schema: { $schema: string }): ValidateFunction {
  const { $schema: _draft, ...rest } = schema;
  return ajv.compile(rest);
}

const validateGet = compile(getMetadataRequestSchema);
const validateUpdate = compile(updateMetadataRequestSchema);
const validateDelete = compile(deleteMetadataKeysRequestSchema);

function parseJson(payload: Buffer, expected: string): JsonValue {
  if (!isUtf8(payload)) throw errors.payloadNotJson(expected);
  try {
    return JSON.parse(payload.toString('utf8')) as JsonValue;
  } catch {
    throw errors.payloadNotJson(expected);
  }
}

/** Turns ajv's first complaint into the catalog error a device author can act on. */
function schemaError(error: ErrorObject | undefined, data: JsonValue, expected: string): TetherError {
  if (!error) return errors.payloadInvalid(expected, 'it does not match the schema');
  if (error.keyword === 'additionalProperties' && typeof error.params['additionalProperty'] === 'string' && error.instancePath === '') {
    // The only properties allowed at the top of an update are metadata keys.
    return errors.metadataKeyInvalid(error.params['additionalProperty']);
  }
  if (error.keyword === 'pattern') {
    const value = valueAt(data, error.instancePath);
    if (typeof value === 'string') return errors.metadataKeyInvalid(value);
  }
  const where = error.instancePath === '' ? 'the payload' : `"${error.instancePath}"`;
  return errors.payloadInvalid(expected, `${where} ${error.message ?? 'is invalid'}`);
}

function valueAt(data: JsonValue, pointer: string): JsonValue | undefined {
  let current: JsonValue | undefined = data;
  for (const part of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) ? current[Number(part)] : current[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

/** 10/EPMP get: a zero-byte payload, `{}` or `{"keys":[…]}`. Returns the requested keys, or undefined for all. */
export function parseGetRequest(payload: Buffer): string[] | undefined {
  // 10/EPMP: a zero-byte get request is processed as if no keys were specified.
  if (payload.length === 0) return undefined;
  const data = parseJson(payload, EXPECTED.get);
  if (!validateGet(data)) throw schemaError(validateGet.errors?.[0], data, EXPECTED.get);
  return (data as { keys?: string[] }).keys;
}

/** 10/EPMP update and update/keys: a non-empty JSON object of key-value pairs. */
export function parseUpdateRequest(payload: Buffer): Metadata {
  const data = parseJson(payload, EXPECTED.update);
  if (!validateUpdate(data)) throw schemaError(validateUpdate.errors?.[0], data, EXPECTED.update);
  return data as Metadata;
}

/** 10/EPMP delete/keys: a non-empty array of unique keys. */
export function parseDeleteRequest(payload: Buffer): string[] {
  const data = parseJson(payload, EXPECTED.delete);
  if (!validateDelete(data)) throw schemaError(validateDelete.errors?.[0], data, EXPECTED.delete);
  return data as string[];
}
