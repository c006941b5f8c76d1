import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { ApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, parseCount, parseJsonObject, table } from '../format.js';
import type { Io } from '../io.js';

const EPR = '/epr/api/v1';
const DEFAULT_APP_VERSION = 'demo_application_v1';

interface EndpointView {
  endpointId: string;
  appVersion: { name: string };
  applicationName: string;
  createdDate: string;
  metadataUpdatedDate: string | null;
  connected: boolean;
  connectivityTs: string | null;
  lastSeen: string | null;
  metadata?: Record<string, unknown>;
}

interface Created {
  endpointId: string;
  token: string;
  tokenId?: string;
  status: string;
}

const help = `Usage: tether endpoints <create|list|get|delete> [options]

Manage endpoints (devices) through the REST API of a running Tether.

  tether endpoints create [--app-version <name>] [--metadata <json>] [--token <token>] [--endpoint-id <id>]
      Registers an endpoint and prints its token (shown only this once).
      --app-version defaults to ${DEFAULT_APP_VERSION}.
  tether endpoints list [--app <application>] [--app-version <name>] [--metadata] [--offset <n>] [--limit <n>]
      Lists endpoints; --metadata adds each endpoint's metadata.
  tether endpoints get <endpointId>
      Shows one endpoint with its metadata.
  tether endpoints delete <endpointId>
      Deletes the endpoint with its metadata and tokens.

${API_FLAGS_HELP}`;

const CREATE_FLAGS = {
  ...API_FLAGS,
  'app-version': { type: 'string' },
  metadata: { type: 'string' },
  token: { type: 'string' },
  'endpoint-id': { type: 'string' },
} as const;

const LIST_FLAGS = {
  ...API_FLAGS,
  app: { type: 'string' },
  'app-version': { type: 'string' },
  metadata: { type: 'boolean' },
  offset: { type: 'string' },
  limit: { type: 'string' },
} as const;

const USAGE = { usage: 'see tether endpoints --help' };

export const endpointsCommand: Command = {
  name: 'endpoints',
  summary: 'create, list, get or delete endpoints over the REST API',
  help,
  run(argv, io) {
    return runAction(endpointsCommand, { create, list, get, delete: remove }, argv, io);
  },
};

function requireId(positionals: string[], action: string): string {
  const id = positionals[0];
  if (id === undefined || id === '') {
    throw errors.configInvalid('command line', `the endpoint ID is missing; use tether endpoints ${action} <endpointId>`);
  }
  return id;
}

async function create(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, CREATE_FLAGS, USAGE);
  const client = await createApiClient(values, io);
  const appVersion = values['app-version'] ?? DEFAULT_APP_VERSION;
  const body: Record<string, unknown> = { appVersion: { name: appVersion } };
  if (values.metadata !== undefined) body['metadata'] = parseJsonObject('--metadata', values.metadata);
  if (values.token !== undefined) body['endpointToken'] = values.token;
  if (values['endpoint-id'] !== undefined) body['endpointId'] = values['endpoint-id'];
  const created = await client.request<Created>('POST', `${EPR}/endpoints`, body);
  if (values.json === true) {
    io.out(json(created));
    return 0;
  }
  const versionFlag = appVersion === DEFAULT_APP_VERSION ? '' : ` --app-version ${appVersion}`;
  io.out(`Endpoint created in application version ${appVersion}.`);
  io.out(`  Endpoint ID:  ${created.endpointId}`);
  io.out(`  Token:        ${created.token}`);
  io.out(`  Token status: ${created.status} (becomes ACTIVE on first use)`);
  io.out('The token is shown only this once. Connect a device with it:');
  io.out(`  tether device --token ${created.token}${versionFlag}`);
  return 0;
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS, USAGE);
  const withMetadata = values.metadata === true;
  const client = await createApiClient(values, io);
  const query = new URLSearchParams();
  if (values.app !== undefined) query.set('applicationName', values.app);
  if (values['app-version'] !== undefined) query.set('applicationVersionName', values['app-version']);
  if (withMetadata) query.set('include', 'metadata');
  if (values.offset !== undefined) query.set('offset', String(parseCount('--offset', values.offset, 0)));
  if (values.limit !== undefined) query.set('limit', String(parseCount('--limit', values.limit, 1)));
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  const page = await client.request<{ totalElements: number; content: EndpointView[] }>('GET', `${EPR}/endpoints${suffix}`);
  if (values.json === true) {
    io.out(json(page));
    return 0;
  }
  if (page.content.length === 0) {
    io.out(page.totalElements === 0 ? 'No endpoints yet. Create one with: tether endpoints create' : `No endpoints on this page (${page.totalElements} in total).`);
    return 0;
  }
  const headers = ['ENDPOINT ID', 'APP VERSION', 'CONNECTED', 'LAST SEEN'];
  if (withMetadata) headers.push('METADATA');
  const rows = page.content.map((e) => {
    const row = [e.endpointId, e.appVersion.name, e.connected ? 'yes' : 'no', e.lastSeen ?? '-'];
    if (withMetadata) row.push(JSON.stringify(e.metadata ?? {}));
    return row;
  });
  for (const line of table(headers, rows)) io.out(line);
  const offset = values.offset !== undefined ? Number(values.offset) : 0;
  io.out(`${page.content.length} shown (${offset + 1}-${offset + page.content.length}) of ${page.totalElements}.`);
  return 0;
}

async function get(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const id = requireId(positionals, 'get');
  const client = await createApiClient(values, io);
  const endpoint = await client.request<EndpointView>('GET', `${EPR}/endpoints/${encodeURIComponent(id)}?include=metadata`);
  if (values.json === true) {
    io.out(json(endpoint));
    return 0;
  }
  printEndpoint(endpoint, io);
  return 0;
}

function printEndpoint(e: EndpointView, io: Io): void {
  io.out(`Endpoint ID:       ${e.endpointId}`);
  io.out(`Application:       ${e.applicationName}`);
  io.out(`App version:       ${e.appVersion.name}`);
  io.out(`Created:           ${e.createdDate}`);
  io.out(`Connected:         ${e.connected ? 'yes' : 'no'}${e.connectivityTs ? ` (since ${e.connectivityTs})` : ''}`);
  io.out(`Last seen:         ${e.lastSeen ?? '-'}`);
  io.out(`Metadata updated:  ${e.metadataUpdatedDate ?? '-'}`);
  io.out(`Metadata:          ${json(e.metadata ?? {}).replaceAll('\n', '\n                   ')}`);
}

async function remove(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const id = requireId(positionals, 'delete');
  const client: ApiClient = await createApiClient(values, io);
  await client.request('DELETE', `${EPR}/endpoints/${encodeURIComponent(id)}`);
  if (values.json === true) io.out(json({ deleted: id }));
  else io.out(`Endpoint ${id} deleted with its metadata and tokens.`);
  return 0;
}
