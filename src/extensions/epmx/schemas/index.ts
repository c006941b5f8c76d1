/*
 * 10/EPMP JSON schemas, copied unchanged from the Kaa Protocol RFCs (kaa-rfcs 0010,
 * "Endpoint Metadata Protocol"), licensed under the Apache License, Version 2.0.
 * The `.json` files beside this module are the verbatim copies; see NOTICE.md.
 */

export const getMetadataKeysResponseSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  description: '10/EPMP get metadata keys response: a set of endpoint metadata keys',
  type: 'array',
  items: {
    type: 'string',
    pattern: '^[a-zA-Z0-9_]+$',
    description: 'Endpoint metadata key name',
  },
  uniqueItems: true,
} as const;

export const getMetadataRequestSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  description: '10/EPMP get metadata request',
  type: 'object',
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'string',
        pattern: '^[a-zA-Z0-9_]+$',
        description: 'Endpoint metadata key name',
      },
      uniqueItems: true,
      description: 'EP metadata keys to be returned. Optional. If not specified, all EP metadata keys will be returned.',
    },
  },
  additionalProperties: false,
} as const;

export const getMetadataResponseSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  description: '10/EPMP get metadata response: a set of EP metadata key-value pairs in JSON object representation',
  type: 'object',
  patternProperties: {
    '^[a-zA-Z0-9_]+$': {},
  },
  additionalProperties: false,
} as const;

export const updateMetadataRequestSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  description: '10/EPMP update metadata request: a set of EP metadata key-value pairs in JSON object representation',
  type: 'object',
  minProperties: 1,
  patternProperties: {
    '^[a-zA-Z0-9_]+$': {},
  },
  additionalProperties: false,
} as const;

export const deleteMetadataKeysRequestSchema = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  description: '10/EPMP delete metadata keys request',
  type: 'array',
  items: {
    type: 'string',
    pattern: '^[a-zA-Z0-9_]+$',
    description: 'Endpoint metadata key name',
  },
  minItems: 1,
  uniqueItems: true,
} as const;

/** File name of each schema's verbatim copy in this folder. */
export const schemaFiles = {
  '0010-get-metadata-keys-response.schema.json': getMetadataKeysResponseSchema,
  '0010-get-metadata-request.schema.json': getMetadataRequestSchema,
  '0010-get-metadata-response.schema.json': getMetadataResponseSchema,
  '0010-update-metadata-request.schema.json': updateMetadataRequestSchema,
  '0010-delete-metadata-keys-request.schema.json': deleteMetadataKeysRequestSchema,
} as const;
