/**
 * Turns Ajv's schema failures into catalog errors: a message naming the field and what to send,
 * or, where the schema marks a rule with `x-error`, the same domain error MQTT gives.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { errors, type TetherError } from '../core/errors.js';
import type { XError } from './schemas.js';

/** Ajv plugin: `x-error` is an annotation only (Ajv's strict mode rejects unknown keywords). */
export function ajvTetherKeywords(ajv: Ajv): Ajv {
  return ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' });
}

/**
 * For routes whose body carries free-form values: fastify's Ajv coerces types (null to 0, "5" to 5
 * where a number is allowed first), which would store something other than what was sent. Errors
 * still go through `formatSchemaErrors`.
 */
const exactAjv = ajvTetherKeywords(new Ajv({ coerceTypes: false, useDefaults: true, allErrors: false, verbose: true, allowUnionTypes: true }));
export const exactTypesCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => exactAjv.compile(schema as object);

const domainErrors: Record<XError, (value: string) => TetherError> = {
  token: () => errors.tokenInvalid(),
  metadataKey: (value) => errors.metadataKeyInvalid(value),
  endpointId: (value) => errors.endpointIdInvalid(value),
  applicationName: (value) => errors.nameInvalid('Application', value),
  versionName: (value) => errors.nameInvalid('Application version', value),
};

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** `body` + `/appVersion/name` -> `body.appVersion.name`; array items as `[0]`. */
export function fieldName(part: string, instancePath: string, extra?: string): string {
  const segments = instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segments.push(extra);
  let name = PART_NAMES[part] ?? part;
  for (const s of segments) name += /^\d+$/.test(s) ? `[${s}]` : `.${s}`;
  return name;
}

function describe(error: ErrorObject, part: string): string {
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as { properties?: Record<string, { description?: string }>; description?: string };
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = parent.properties?.[missing]?.description?.replace(/\.$/, '');
      return `${fieldName(part, error.instancePath, missing)} is missing${hint ? ` (${hint})` : ''}`;
    }
    case 'enum':
      return `${fieldName(part, error.instancePath)} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'additionalProperties':
      return `${fieldName(part, error.instancePath, String(params.additionalProperty))} is not a known field; remove it`;
    case 'propertyNames':
      return `${fieldName(part, error.instancePath)} has an invalid key ${JSON.stringify(params.propertyName)}`;
    default: {
      // For shape errors the field's description says what to send; for bounds the message already does.
      const hint = ['type', 'pattern', 'format'].includes(error.keyword) ? parent.description?.replace(/\.$/, '') : undefined;
      return `${fieldName(part, error.instancePath)} ${error.message ?? 'is invalid'}${hint ? ` (${hint})` : ''}`;
    }
  }
}

/** fastify `schemaErrorFormatter`: only the first failure is reported (Ajv runs with allErrors off). */
export function formatSchemaErrors(ajvErrors: ErrorObject[], part: string): Error {
  const first = ajvErrors[0];
  if (!first) return errors.validation(`the ${PART_NAMES[part] ?? part} does not match its schema`);
  const xError = (first.parentSchema as { 'x-error'?: XError } | undefined)?.['x-error'];
  if (xError) {
    // Inside propertyNames Ajv reports the offending key as `propertyName`; otherwise the value is `data`.
    const offending = (first as { propertyName?: string }).propertyName ?? first.data;
    return domainErrors[xError](typeof offending === 'string' ? offending : JSON.stringify(offending));
  }
  return errors.validation(describe(first, part));
}
