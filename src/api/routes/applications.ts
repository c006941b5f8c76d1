/** Applications and application versions under /api/v1 (Tether's own; Kaa keeps these in config). */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../core/services.js';
import type { KeyAccess } from '../../core/types.js';
import {
  applicationNameInput,
  applicationParams,
  errorResponses,
  extensionsInput,
  keyAccessInput,
  noContent,
  ref,
  versionNameInput,
  versionParams,
} from '../schemas.js';

export const API = '/api/v1';

interface VersionPatch {
  extensions?: string[];
  metadataKeyAccess?: Record<string, KeyAccess>;
}

export function applicationRoutes(app: FastifyInstance, services: Services): void {
  const { applications } = services;
  const tags = ['applications'];

  app.get(
    `${API}/applications`,
    { schema: { tags, summary: 'List applications', response: { 200: { type: 'array', items: ref('Application') }, ...errorResponses } } },
    async () => applications.listApplications(),
  );

  app.post<{ Body: { name: string; description?: string } }>(
    `${API}/applications`,
    {
      schema: {
        tags,
        summary: 'Create an application',
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: applicationNameInput, description: { type: 'string', maxLength: 1000 } },
        },
        response: { 201: ref('Application'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, description } = request.body;
      const created = await applications.createApplication({ name, ...(description !== undefined && { description }) });
      void reply.code(201).header('location', `${API}/applications/${encodeURIComponent(created.name)}`);
      return created;
    },
  );

  app.get<{ Params: { applicationName: string } }>(
    `${API}/applications/:applicationName`,
    { schema: { tags, summary: 'Get an application', params: applicationParams, response: { 200: ref('Application'), ...errorResponses } } },
    async (request) => applications.getApplication(request.params.applicationName),
  );

  app.delete<{ Params: { applicationName: string } }>(
    `${API}/applications/:applicationName`,
    {
      schema: {
        tags,
        summary: 'Delete an application',
        description: 'Deletes the application with its versions, endpoints, metadata and tokens.',
        params: applicationParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await applications.getApplication(request.params.applicationName);
      await applications.deleteApplication(request.params.applicationName);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { applicationName: string } }>(
    `${API}/applications/:applicationName/versions`,
    {
      schema: {
        tags,
        summary: 'List an application\'s versions',
        params: applicationParams,
        response: { 200: { type: 'array', items: ref('AppVersion') }, ...errorResponses },
      },
    },
    async (request) => {
      await applications.getApplication(request.params.applicationName);
      return applications.listVersions(request.params.applicationName);
    },
  );

  app.post<{ Params: { applicationName: string }; Body: VersionPatch & { name: string } }>(
    `${API}/applications/:applicationName/versions`,
    {
      schema: {
        tags,
        summary: 'Create an application version',
        params: applicationParams,
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: versionNameInput, extensions: extensionsInput, metadataKeyAccess: keyAccessInput },
        },
        response: { 201: ref('AppVersion'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, extensions, metadataKeyAccess } = request.body;
      const created = await applications.createVersion({
        applicationName: request.params.applicationName,
        name,
        ...(extensions !== undefined && { extensions }),
        ...(metadataKeyAccess !== undefined && { metadataKeyAccess }),
      });
      void reply.code(201).header('location', `${API}/app-versions/${encodeURIComponent(created.name)}`);
      return created;
    },
  );

  app.get<{ Params: { versionName: string } }>(
    `${API}/app-versions/:versionName`,
    { schema: { tags, summary: 'Get an application version', params: versionParams, response: { 200: ref('AppVersion'), ...errorResponses } } },
    async (request) => applications.getVersion(request.params.versionName),
  );

  app.patch<{ Params: { versionName: string }; Body: VersionPatch }>(
    `${API}/app-versions/:versionName`,
    {
      schema: {
        tags,
        summary: 'Update an application version',
        description: 'Fields sent replace the stored ones; fields left out stay as they are.',
        params: versionParams,
        body: { type: 'object', properties: { extensions: extensionsInput, metadataKeyAccess: keyAccessInput } },
        response: { 200: ref('AppVersion'), ...errorResponses },
      },
    },
    async (request) => {
      const { extensions, metadataKeyAccess } = request.body;
      return applications.updateVersion(request.params.versionName, {
        ...(extensions !== undefined && { extensions }),
        ...(metadataKeyAccess !== undefined && { metadataKeyAccess }),
      });
    },
  );
}
