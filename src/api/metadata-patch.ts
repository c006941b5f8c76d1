/**
 * PATCH /endpoints/{id}/metadata: RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch, both applied
 * to the current metadata to produce the new whole metadata, which is then stored as one replace.
 */
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { errors } from '../core/errors.js';
import { METADATA_KEY_PATTERN } from '../core/names.js';
import type { JsonValue, Metadata } from '../core/types.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';

const WHAT = 'a JSON Patch (RFC 6902) that leaves the metadata an object with keys matching ^[a-zA-Z0-9_]+$';

function checkResult(result: unknown): Metadata {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw errors.payloadInvalid(WHAT, 'the result is not an object');
  }
  for (const key of Object.keys(result)) {
    if (!METADATA_KEY_PATTERN.test(key)) throw errors.metadataKeyInvalid(key);
  }
  return result as Metadata;
}

export function applyJsonPatch(current: Metadata, operations: Operation[]): Metadata {
  try {
    // validateOperation=true checks each op; prototype modifications are refused by default.
    const { newDocument } = jsonpatch.applyPatch(jsonpatch.deepClone(current) as Metadata, operations, true, true);
    return checkResult(newDocument);
  } catch (err) {
    if (err instanceof jsonpatch.JsonPatchError) {
      const index = err.index ?? 0;
      if (err.name === 'TEST_OPERATION_FAILED') throw errors.patchTestFailed(index);
      // The library's message embeds the whole document after its first line; keep only the first line.
      const reason = err.message.split('\n')[0] ?? err.name;
      throw errors.payloadInvalid(WHAT, `operation ${index}: ${reason}`);
    }
    throw err;
  }
}

function isObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: null removes a member, objects merge recursively, anything else replaces. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const result: Record<string, JsonValue> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    // defineProperty: a "__proto__" member must stay data, never become the prototype.
    else Object.defineProperty(result, key, { value: mergePatch(result[key], value), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

export function applyMergePatch(current: Metadata, patch: JsonValue): Metadata {
  if (!isObject(patch)) throw errors.payloadInvalid('a JSON Merge Patch (RFC 7386)', 'send an object');
  return checkResult(mergePatch(current, patch));
}

export const jsonPatchSchema = {
  type: 'array',
  description: 'RFC 6902 operations applied in order to the endpoint metadata, e.g. [{"op":"replace","path":"/model","value":"A300"}].',
  items: {
    type: 'object',
    required: ['op', 'path'],
    properties: {
      op: { type: 'string', enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] },
      path: { type: 'string', description: 'JSON Pointer, e.g. /model.' },
      from: { type: 'string', description: 'JSON Pointer; for move and copy.' },
      value: { description: 'Any JSON; for add, replace and test.' },
    },
  },
} as const;

export const mergePatchSchema = {
  type: 'object',
  description: 'RFC 7386 merge patch: members set to null are removed, others are set (objects merged).',
  additionalProperties: true,
} as const;
