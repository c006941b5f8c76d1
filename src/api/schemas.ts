/**
 * JSON Schemas shared by the API routes. Fastify validates requests and serializes responses
 * with them, and @fastify/swagger turns the same objects into the OpenAPI document, so the
 * schema is the single description of every request and response.
 *
 * `x-error` names the catalog error a failed input rule becomes (see validation.ts), so a bad
 * token reads TOKEN_INVALID over REST exactly as over MQTT instead of a generic message.
 */
import { ENDPOINT_ID_PATTERN, MAX_TOKEN_LENGTH, METADATA_KEY_PATTERN, NAME_PATTERN } from '../core/names.js';

export type XError = 'token' | 'metadataKey' | 'endpointId' | 'applicationName' | 'versionName';

const KEY_ACCESS = ['read-write', 'read-only', 'hidden'];

/** Regex source without the JS delimiters, for `pattern`. */
const src = (re: RegExp) => re.source;

// --- input fragments --------------------------------------------------------------

export const metadataKeyInput = {
  type: 'string',
  pattern: src(METADATA_KEY_PATTERN),
  'x-error': 'metadataKey',
  description: `Metadata key (10/EPMP), matching ${src(METADATA_KEY_PATTERN)}.`,
} as const;

export const metadataInput = {
  type: 'object',
  description: 'Endpoint metadata: keys matching ^[a-zA-Z0-9_]+$, values any JSON.',
  propertyNames: { pattern: src(METADATA_KEY_PATTERN), 'x-error': 'metadataKey' },
  additionalProperties: true,
} as const;

export const tokenInput = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_TOKEN_LENGTH,
  // Kaa CM: no MQTT wildcards, topic separators, dots or control characters.
  pattern: '^[^+#/.\\u0000-\\u001f\\u007f]+$',
  'x-error': 'token',
  description: 'Endpoint token: 1-256 characters without "+", "#", "/", "." or control characters. Generated when left out.',
} as const;

export const endpointIdInput = {
  type: 'string',
  pattern: src(ENDPOINT_ID_PATTERN),
  'x-error': 'endpointId',
  description: 'Endpoint ID: 1-128 characters from A-Z a-z 0-9 _ . : -. A UUID is generated when left out.',
} as const;

export const applicationNameInput = {
  type: 'string',
  pattern: src(NAME_PATTERN),
  'x-error': 'applicationName',
  description: 'Application name matching ^[a-z0-9_-]+$, e.g. "demo_application".',
} as const;

export const versionNameInput = {
  type: 'string',
  pattern: src(NAME_PATTERN),
  'x-error': 'versionName',
  description: 'Application version name matching ^[a-z0-9_-]+$, e.g. "demo_application_v1". It is the second level of every 1/KP topic.',
} as const;

export const extensionsInput = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 128 },
  uniqueItems: true,
  description: 'Extension instance names enabled for the version, e.g. ["epmx"].',
} as const;

export const keyAccessInput = {
  type: 'object',
  description: 'Per-key device access (10/EPMP): "read-write" (default for unlisted keys), "read-only" or "hidden". Operators are never restricted.',
  propertyNames: { pattern: src(METADATA_KEY_PATTERN), 'x-error': 'metadataKey' },
  additionalProperties: { type: 'string', enum: KEY_ACCESS },
} as const;

// --- params -------------------------------------------------------------------------

export const endpointParams = {
  type: 'object',
  required: ['endpointId'],
  properties: { endpointId: { type: 'string', description: 'Endpoint ID.' } },
} as const;

export const endpointKeyParams = {
  type: 'object',
  required: ['endpointId', 'key'],
  properties: { endpointId: { type: 'string', description: 'Endpoint ID.' }, key: metadataKeyInput },
} as const;

export const tokenParams = {
  type: 'object',
  required: ['endpointId', 'tokenId'],
  properties: {
    endpointId: { type: 'string', description: 'Endpoint ID.' },
    tokenId: { type: 'string', description: 'Token ID from the token list (not the token itself).' },
  },
} as const;

export const applicationParams = {
  type: 'object',
  required: ['applicationName'],
  properties: { applicationName: { type: 'string', description: 'Application name.' } },
} as const;

export const versionParams = {
  type: 'object',
  required: ['versionName'],
  properties: { versionName: { type: 'string', description: 'Application version name.' } },
} as const;

// --- shared output schemas (registered with addSchema, referenced as `Name#`) --------------

const nullableIso = { type: ['string', 'null'], format: 'date-time' } as const;
const iso = { type: 'string', format: 'date-time' } as const;

export const sharedSchemas = [
  {
    $id: 'Error',
    type: 'object',
    description: 'Every error: HTTP status, stable code and a message saying what to do.',
    required: ['status', 'code', 'message'],
    properties: {
      status: { type: 'integer', description: 'HTTP status code.' },
      code: { type: 'string', description: 'Stable error code, e.g. ENDPOINT_NOT_FOUND.' },
      message: { type: 'string' },
    },
  },
  {
    $id: 'Metadata',
    type: 'object',
    description: 'Endpoint metadata (10/EPMP): key-value pairs, values any JSON.',
    additionalProperties: true,
  },
  {
    $id: 'Endpoint',
    type: 'object',
    required: ['endpointId', 'appVersion', 'applicationName', 'createdDate', 'connected'],
    properties: {
      endpointId: { type: 'string' },
      appVersion: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, registeredDate: nullableIso },
      },
      applicationName: { type: 'string' },
      createdDate: iso,
      metadataUpdatedDate: nullableIso,
      connected: { type: 'boolean', description: 'True while at least one MQTT session speaks for the endpoint (9/ELCE).' },
      connectivityTs: { ...nullableIso, description: 'Time of the last connect or disconnect.' },
      lastConnectedDate: { ...nullableIso, description: 'Time of the last connect; null if never recorded.' },
      lastDisconnectedDate: {
        ...nullableIso,
        description: 'Time of the last disconnect (including one recorded at startup for sessions a restart ended); null if never recorded.',
      },
      lastSeen: { ...nullableIso, description: 'Time of the last device message for the endpoint.' },
      metadata: { $ref: 'Metadata#', description: 'Present with include=metadata.' },
      softwareVersion: {
        type: ['string', 'null'],
        description: 'Present with include=software: the software version the device last reported running on cmx_ota (Kaa OTAO); null before its first report.',
      },
    },
  },
  {
    $id: 'Token',
    type: 'object',
    description: 'An endpoint token (Kaa CM). The plain token is never stored; only its last characters (hint).',
    required: ['tokenId', 'status', 'createdDate', 'statusUpdatedDate', 'hint'],
    properties: {
      tokenId: { type: 'string' },
      endpointId: { type: 'string' },
      applicationName: { type: 'string' },
      status: { type: 'string', enum: ['INACTIVE', 'ACTIVE', 'SUSPENDED', 'REVOKED'] },
      createdDate: iso,
      statusUpdatedDate: iso,
      hint: { type: 'string', description: 'Last characters of the token, to tell tokens apart.' },
    },
  },
  {
    $id: 'IssuedToken',
    type: 'object',
    description: 'A newly issued token. The plain token appears only in this response.',
    required: ['tokenId', 'token', 'status'],
    properties: {
      tokenId: { type: 'string' },
      token: { type: 'string' },
      status: { type: 'string', enum: ['INACTIVE', 'ACTIVE', 'SUSPENDED', 'REVOKED'] },
    },
  },
  {
    $id: 'Application',
    type: 'object',
    required: ['name', 'description', 'createdDate'],
    properties: { name: { type: 'string' }, description: { type: 'string' }, createdDate: iso },
  },
  {
    $id: 'AppVersion',
    type: 'object',
    required: ['name', 'applicationName', 'registeredDate', 'extensions', 'metadataKeyAccess'],
    properties: {
      name: { type: 'string' },
      applicationName: { type: 'string' },
      registeredDate: iso,
      extensions: { type: 'array', items: { type: 'string' } },
      metadataKeyAccess: { type: 'object', additionalProperties: { type: 'string', enum: KEY_ACCESS } },
    },
  },
  {
    $id: 'KeyList',
    type: 'array',
    description: 'Metadata keys, sorted.',
    items: { type: 'string' },
  },
];

export const ref = (id: string) => ({ $ref: `${id}#` });

/** Error responses every API route can give; listed so the OpenAPI document shows the body. */
export const errorResponses = {
  '4xx': { description: 'The request was wrong; the body says what to change.', ...ref('Error') },
  '5xx': { description: 'The server failed; details are in the server log.', ...ref('Error') },
} as const;

export const noContent = { description: 'Done; no body.', type: 'null' } as const;
