/** Kaa CM client credentials (MQTT username/password and X.509 certificates) under /cm/api/v1. */
import type { FastifyInstance } from 'fastify';
import type { ClientAuthService, CreateClientCredentialInput, StatusAction } from '../../client-auth/index.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../client-auth/index.js';
import { applicationNameInput, errorResponses, noContent } from '../schemas.js';

const BASE = '/cm/api/v1/client-credentials';

const ACTIONS: readonly StatusAction[] = ['suspend', 'reactivate', 'revoke'];

const ACTION_SUMMARY: Record<StatusAction, string> = {
  suspend: 'Suspend a client credential (ACTIVE -> SUSPENDED); sessions authenticated with it are disconnected',
  reactivate: 'Reactivate a suspended client credential (SUSPENDED -> ACTIVE)',
  revoke: 'Revoke a client credential for good (-> REVOKED); sessions authenticated with it are disconnected',
};

const iso = { type: 'string', format: 'date-time' } as const;
const nullableString = { type: ['string', 'null'] } as const;

/** Inlined rather than shared with addSchema: these routes are registered only when client authentication is wired. */
const credentialSchema = {
  type: 'object',
  description: 'A client credential. The password (basic) is never returned after creation; only its username.',
  required: ['credentialId', 'applicationName', 'kind', 'status', 'boundEndpoints', 'createdDate', 'statusUpdatedDate'],
  properties: {
    credentialId: { type: 'string' },
    applicationName: { type: 'string' },
    kind: { type: 'string', enum: ['basic', 'x509'] },
    username: { ...nullableString, description: 'basic: the MQTT CONNECT username.' },
    certificateFingerprint: { ...nullableString, description: 'x509: SHA-256 of the certificate (DER), lower-case hex.' },
    certificateSubject: { ...nullableString, description: 'x509: subject of the certificate, when it was registered as PEM.' },
    boundEndpoints: { type: 'array', items: { type: 'string' }, description: 'Gateway binding: when not empty, sessions authenticated with this credential may only use tokens of these endpoints.' },
    status: { type: 'string', enum: ['ACTIVE', 'SUSPENDED', 'REVOKED'] },
    description: { type: 'string' },
    createdDate: iso,
    statusUpdatedDate: iso,
  },
} as const;

const endpointsInput = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 128 },
  maxItems: 10_000,
  description: 'Endpoint IDs of the same application the credential is bound to (gateway binding); [] for none.',
} as const;

const credentialParams = {
  type: 'object',
  required: ['credentialId'],
  properties: { credentialId: { type: 'string', description: 'Client credential ID.' } },
} as const;

interface CreateBody {
  applicationName: string;
  kind: 'basic' | 'x509';
  username?: string;
  password?: string;
  certificate?: string;
  certificateFingerprint?: string;
  endpoints?: string[];
  description?: string;
}

export function clientCredentialRoutes(app: FastifyInstance, clientAuth: ClientAuthService): void {
  const tags = ['client-credentials'];

  app.get<{ Querystring: { applicationName?: string } }>(
    BASE,
    {
      schema: {
        tags,
        summary: 'List client credentials',
        querystring: { type: 'object', properties: { applicationName: applicationNameInput } },
        response: { 200: { type: 'array', items: credentialSchema }, ...errorResponses },
      },
    },
    async (request) => clientAuth.listCredentials(request.query.applicationName),
  );

  app.post<{ Body: CreateBody }>(
    BASE,
    {
      schema: {
        tags,
        summary: 'Create a client credential',
        description:
          'basic: MQTT username and password (generated when left out; a generated password is returned only in this response). ' +
          'x509: a PEM client certificate (or its SHA-256 fingerprint) the client presents over mutual TLS.',
        body: {
          type: 'object',
          required: ['applicationName', 'kind'],
          additionalProperties: false,
          properties: {
            applicationName: applicationNameInput,
            kind: { type: 'string', enum: ['basic', 'x509'] },
            username: { type: 'string', pattern: '^[A-Za-z0-9_.@:+-]{1,128}$', description: 'basic: 1-128 characters from A-Z a-z 0-9 _ . @ : + -.' },
            password: { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH, description: 'basic: generated when left out.' },
            certificate: { type: 'string', maxLength: 65_536, description: 'x509: PEM-encoded certificate.' },
            certificateFingerprint: { type: 'string', maxLength: 128, description: 'x509: SHA-256 fingerprint, hex (colons allowed).' },
            endpoints: endpointsInput,
            description: { type: 'string', maxLength: 1000 },
          },
        },
        response: {
          201: {
            ...credentialSchema,
            description: 'The created credential; `password` only when it was generated.',
            properties: { ...credentialSchema.properties, password: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { applicationName, kind, username, password, certificate, certificateFingerprint, endpoints, description } = request.body;
      const input: CreateClientCredentialInput = {
        applicationName,
        kind,
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password }),
        ...(certificate !== undefined && { certificate }),
        ...(certificateFingerprint !== undefined && { certificateFingerprint }),
        ...(endpoints !== undefined && { endpoints }),
        ...(description !== undefined && { description }),
      };
      const created = await clientAuth.createCredential(input);
      void reply.code(201).header('location', `${BASE}/${encodeURIComponent(created.credential.credentialId)}`);
      return { ...created.credential, ...(created.password !== undefined && { password: created.password }) };
    },
  );

  app.get<{ Params: { credentialId: string } }>(
    `${BASE}/:credentialId`,
    { schema: { tags, summary: 'Get a client credential', params: credentialParams, response: { 200: credentialSchema, ...errorResponses } } },
    async (request) => clientAuth.getCredential(request.params.credentialId),
  );

  app.put<{ Params: { credentialId: string }; Body: { endpoints: string[] } }>(
    `${BASE}/:credentialId/endpoints`,
    {
      schema: {
        tags,
        summary: 'Bind a client credential to endpoints (gateway binding)',
        description: 'Replaces the set of endpoints; [] removes the binding. Sessions authenticated with the credential are disconnected and re-checked when they reconnect.',
        params: credentialParams,
        body: { type: 'object', required: ['endpoints'], additionalProperties: false, properties: { endpoints: endpointsInput } },
        response: { 200: credentialSchema, ...errorResponses },
      },
    },
    async (request) => clientAuth.bindEndpoints(request.params.credentialId, request.body.endpoints),
  );

  for (const action of ACTIONS) {
    app.post<{ Params: { credentialId: string } }>(
      `${BASE}/:credentialId/${action}`,
      { schema: { tags, summary: ACTION_SUMMARY[action], params: credentialParams, response: { 200: credentialSchema, ...errorResponses } } },
      async (request) => clientAuth.changeStatus(request.params.credentialId, action),
    );
  }

  app.delete<{ Params: { credentialId: string } }>(
    `${BASE}/:credentialId`,
    {
      schema: {
        tags,
        summary: 'Delete a client credential',
        description: 'Sessions authenticated with it are disconnected.',
        params: credentialParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await clientAuth.deleteCredential(request.params.credentialId);
      return reply.code(204).send();
    },
  );
}
