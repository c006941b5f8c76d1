/*
 * 7/CMP JSON schemas from the Kaa Protocol RFCs (kaa-rfcs 0007, "Configuration Management
 * Protocol"), licensed under the Apache License, Version 2.0 (see ../NOTICE.md).
 */

export const configRequestSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '7/CMP configuration request schema',
  type: 'object',
  properties: {
    configId: { type: 'string', description: 'Identifier of the currently applied configuration' },
    observe: { type: 'boolean', description: 'Whether the endpoint is interested in observing its configuration' },
  },
  additionalProperties: false,
} as const;

export const configResponseSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '7/CMP configuration response schema',
  type: 'object',
  properties: {
    configId: { type: 'string', description: 'Identifier of the current configuration' },
    config: { description: 'Configuration body of an arbitrary type' },
  },
  additionalProperties: false,
} as const;

export const appliedRequestSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '7/CMX applied configuration request schema',
  type: 'object',
  properties: {
    configId: { type: 'string', description: 'Identifier of the applied configuration' },
    statusCode: { type: 'number', description: 'Status code based on HTTP status codes', default: 200 },
    reasonPhrase: { type: 'string', description: 'Human-readable string explaining the cause of an error (if any)' },
  },
  required: ['configId'],
  additionalProperties: false,
} as const;
