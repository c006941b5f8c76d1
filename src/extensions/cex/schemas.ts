/*
 * 11/CEP JSON schemas from the Kaa Protocol RFCs (kaa-rfcs 0011, "Command Execution Protocol"),
 * licensed under the Apache License, Version 2.0 (see ../NOTICE.md).
 */

export const commandRequestSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '11/CEP command request schema',
  type: 'object',
  properties: {
    observe: { type: 'boolean', description: 'Whether to send upcoming command for this endpoint.' },
  },
  additionalProperties: false,
} as const;

export const commandResponseSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '11/CEP command response schema',
  type: 'array',
  items: {
    type: 'object',
    properties: {
      id: { type: 'integer', description: 'ID of the command.' },
      payload: { description: 'The command payload to be interpreted by the endpoint.' },
    },
    required: ['id'],
    additionalProperties: false,
  },
} as const;

/**
 * The spec's text says a result request is an array; its schema file describes one item. Tether
 * takes the array (what Kaa's clients send) and, leniently, a single item.
 */
export const resultItemSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', description: 'ID of the command.' },
    statusCode: { type: 'integer', description: 'Status code of the command execution. Based on HTTP status codes.' },
    reasonPhrase: { type: 'string', description: 'Intended to give a short textual description of the status code.' },
    payload: { description: 'A command result payload to be interpreted by the caller.' },
  },
  required: ['id', 'statusCode'],
  additionalProperties: false,
} as const;

export const resultRequestSchema = {
  $schema: 'http://json-schema.org/schema#',
  title: '11/CEP result request schema',
  anyOf: [{ type: 'array', items: resultItemSchema, minItems: 1, maxItems: 1000 }, resultItemSchema],
} as const;
