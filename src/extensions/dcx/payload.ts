import { isUtf8 } from 'node:buffer';
import { errors } from '../../core/errors.js';

/** What a 2/DCP request must look like, quoted in error replies so a device author knows what to send. */
const EXPECTED_BATCH = 'a 2/DCP data collection request: a JSON array of data sample objects, e.g. [{"temperature":21}]';

/** Samples in one batch at most: a batch is stored in one transaction and answered once. */
const MAX_SAMPLES = 10_000;

/**
 * 2/DCP `json`: a UTF-8 JSON array of samples. A single object is taken as a batch of one (Kaa's
 * DCX accepts it too). Samples must be objects: EPTS extracts fields by name, so a bare number or
 * string would be silently lost; rejecting it tells the device author at once.
 */
export function parseBatch(payload: Buffer): Record<string, unknown>[] {
  if (!isUtf8(payload)) throw errors.payloadNotJson(EXPECTED_BATCH);
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    throw errors.payloadNotJson(EXPECTED_BATCH);
  }
  // 2/DCP: the request payload is an array of data samples.
  const samples = Array.isArray(data) ? data : isObject(data) ? [data] : undefined;
  if (samples === undefined) throw errors.payloadInvalid(EXPECTED_BATCH, `it is a JSON ${data === null ? 'null' : typeof data}, not an array`);
  if (samples.length > MAX_SAMPLES) throw errors.payloadInvalid(EXPECTED_BATCH, `it has ${samples.length} samples, more than ${MAX_SAMPLES}; send smaller batches`);
  for (let i = 0; i < samples.length; i++) {
    const sample: unknown = samples[i];
    if (!isObject(sample)) throw errors.payloadInvalid(EXPECTED_BATCH, `element ${i} is ${Array.isArray(sample) ? 'an array' : sample === null ? 'null' : `a ${typeof sample}`}, not an object`);
  }
  return samples as Record<string, unknown>[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
