import { isUtf8 } from 'node:buffer';
import { Ajv, type ValidateFunction } from 'ajv';
import { errors } from '../core/errors.js';
import type { JsonValue } from '../core/types.js';

const ajv = new Ajv({ allErrors: false, strict: false });

/** Compiled once, at module load. The spec schemas declare an old draft whose keywords mean the same in ajv's. */
export function compileSchema(schema: object): ValidateFunction {
  const { $schema: _draft, ...rest } = schema as { $schema?: string };
  return ajv.compile(rest);
}

/**
 * A 7/CMP or 11/CEP request body: UTF-8 JSON checked against its spec schema. Kaa's own clients
 * send `null` for optional fields they leave unset ("reasonPhrase": null): such properties count
 * as absent instead of failing the schema. A zero-length payload reads as `empty`.
 */
export function parseRequest(payload: Buffer, validate: ValidateFunction, expected: string, empty?: JsonValue): JsonValue {
  if (payload.length === 0 && empty !== undefined) return empty;
  if (!isUtf8(payload)) throw errors.payloadNotJson(expected);
  let data: JsonValue;
  try {
    data = JSON.parse(payload.toString('utf8')) as JsonValue;
  } catch {
    throw errors.payloadNotJson(expected);
  }
  data = withoutNulls(data);
  if (!validate(data)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath ? `${first.instancePath} ` : '';
    const detail = first?.keyword === 'additionalProperties' ? `unknown property ${JSON.stringify(first.params['additionalProperty'])}` : `${where}${first?.message ?? 'does not match the schema'}`;
    throw errors.payloadInvalid(expected, detail);
  }
  return data;
}

/** Drops null-valued properties of objects at the top level and one level down (array items). */
function withoutNulls(data: JsonValue): JsonValue {
  if (Array.isArray(data)) return data.map((item) => (isObject(item) ? dropNulls(item) : item));
  return isObject(data) ? dropNulls(data) : data;
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function dropNulls(object: { [key: string]: JsonValue }): { [key: string]: JsonValue } {
  let copy: { [key: string]: JsonValue } | undefined;
  for (const key of Object.keys(object)) {
    if (object[key] !== null) continue;
    copy ??= { ...object };
    delete copy[key];
  }
  return copy ?? object;
}

export function jsonPayload(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
