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

const help = `Usage: npx tether endpoints <create|list|get|delete|export|import> [options]

Manage endpoints (devices) through the REST API of a running Tether.

  npx tether endpoints create [--app-version <name>] [--metadata <json>] [--token <token>] [--endpoint-id <id>]
      Registers an endpoint and prints its token (shown only this once).
      --app-version defaults to ${DEFAULT_APP_VERSION}.
  npx tether endpoints list [--app <application>] [--app-version <name>] [--metadata] [--offset <n>] [--limit <n>]
      Lists endpoints; --metadata adds each endpoint's metadata.
  npx tether endpoints get <endpointId>
      Shows one endpoint with its metadata.
  npx tether endpoints delete <endpointId>
      Deletes the endpoint with its metadata and tokens.
  npx tether endpoints export --app <application> [--format csv|json] [--output <file>] [--search <text>] [--filter <expr>]...
      Writes every matching endpoint with its metadata (CSV: one metadata.<key> column per key) to
      the file, or to standard output. Streamed: any number of endpoints.
  npx tether endpoints import --file <endpoints.csv> [--app-version <name>] [--tokens-out <file>]
      Creates an endpoint per CSV row (columns endpointId, appVersion, token, metadata.<key>; an
      export imports as is). The created tokens are shown only once: they go to --tokens-out
      (CSV line,endpointId,token,error) or to standard output.

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

const USAGE = { usage: 'see npx tether endpoints --help' };

export const endpointsCommand: Command = {
  name: 'endpoints',
  help,
  run(argv, io) {
    return runAction(endpointsCommand, { create, list, get, delete: remove, export: exportEndpoints, import: importEndpoints }, argv, io);
  },
};

function requireId(positionals: string[], action: string): string {
  const id = positionals[0];
  if (id === undefined || id === '') {
    throw errors.configInvalid('command line', `the endpoint ID is missing; use npx tether endpoints ${action} <endpointId>`);
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
  const mqtt = await mqttAddress(client);
  io.out(`Endpoint created in application version ${appVersion}.`);
  io.out(`  Endpoint ID:  ${created.endpointId}`);
  io.out(`  Token:        ${created.token}`);
  io.out(`  Token status: ${created.status} (becomes ACTIVE on first use)`);
  io.out('The token is shown only this once. Connect a device with it:');
  io.out(`  npx tether device --token ${created.token}${mqtt}${versionFlag}`);
  return 0;
}

/**
 * ` --host H --port P` of the MQTT listener of the server that created the endpoint, so the hint
 * reaches that node and not the device command's localhost:1883 default. Empty if it cannot be asked.
 */
async function mqttAddress(client: ApiClient): Promise<string> {
  try {
    const info = await client.request<{ mqttHost: string; mqttPort: number }>('GET', '/dashboard/api/info');
    return ` --host ${info.mqttHost} --port ${info.mqttPort}`;
  } catch {
    return '';
  }
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
    io.out(page.totalElements === 0 ? 'No endpoints yet. Create one with: npx tether endpoints create' : `No endpoints on this page (${page.totalElements} in total).`);
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

const EXPORT_FLAGS = {
  ...API_FLAGS,
  app: { type: 'string' },
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  search: { type: 'string' },
  filter: { type: 'string', multiple: true },
} as const;

async function exportEndpoints(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, EXPORT_FLAGS, USAGE);
  if (values.app === undefined) throw errors.configInvalid('command line', 'the application is missing; use npx tether endpoints export --app <application>');
  const format = values.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw errors.configInvalid(`--format ${JSON.stringify(format)}`, 'use csv or json');
  const query = new URLSearchParams({ applicationName: values.app, format });
  if (values.search !== undefined) query.set('search', values.search);
  for (const filter of (values.filter as unknown as string[] | undefined) ?? []) query.append('filter', filter);
  const client = await createApiClient(values, io);
  const response = await client.raw('GET', `/api/v1/endpoints/export?${query.toString()}`);
  const { Readable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  if (values.output !== undefined) {
    const { createWriteStream } = await import('node:fs');
    const path = await import('node:path');
    const file = path.resolve(io.cwd, values.output);
    await pipeline(body, createWriteStream(file));
    io.err(`Exported to ${file}.`);
  } else {
    await pipeline(body, process.stdout, { end: false });
  }
  return 0;
}

const IMPORT_FLAGS = {
  ...API_FLAGS,
  file: { type: 'string', short: 'f' },
  'app-version': { type: 'string' },
  'tokens-out': { type: 'string' },
} as const;

interface ImportAnswer {
  created: number;
  failed: Array<{ line: number; endpointId: string | null; code: string; message: string }>;
  tokens: Array<{ endpointId: string; token: string }>;
}

async function importEndpoints(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, IMPORT_FLAGS, USAGE);
  if (values.file === undefined) throw errors.configInvalid('command line', 'the CSV file is missing; use npx tether endpoints import --file <endpoints.csv>');
  const { readFile, writeFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.resolve(io.cwd, values.file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw errors.configInvalid(`--file ${JSON.stringify(values.file)}`, `it cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const query = new URLSearchParams({ format: 'csv' });
  if (values['app-version'] !== undefined) query.set('appVersion', values['app-version']);
  const client = await createApiClient(values, io);
  // One request (the import is one audited operation); the server takes seconds for large files.
  const rowCount = Math.max(0, text.split('\n').filter((line) => line.trim() !== '').length - 1);
  const { startProgress } = await import('../progress.js');
  const progress = startProgress(`Importing ${rowCount} endpoint row${rowCount === 1 ? '' : 's'} from ${values.file}`);
  let answer: string;
  try {
    answer = await (await client.raw('POST', `/api/v1/endpoints/import?${query.toString()}`, { text, contentType: 'text/csv' })).text();
  } finally {
    progress.finish(`Import of ${rowCount} rows answered`);
  }
  // The CSV answer: line,endpointId,token,error.
  const { parse } = await import('csv-parse/sync');
  const rows = (parse(answer, { columns: true }) as Array<{ line: string; endpointId: string; token: string; error: string }>);
  const created = rows.filter((r) => r.error === '');
  const failed = rows.filter((r) => r.error !== '');
  if (values['tokens-out'] !== undefined) {
    const out = path.resolve(io.cwd, values['tokens-out']);
    await writeFile(out, answer, { mode: 0o600 });
    io.out(`Tokens of the created endpoints written to ${out} (shown only this once; keep the file safe).`);
  } else if (values.json !== true) {
    io.out(answer.trimEnd());
  }
  if (values.json === true) {
    const result: ImportAnswer = {
      created: created.length,
      failed: failed.map((r) => ({ line: Number(r.line), endpointId: r.endpointId || null, code: r.error.split(':')[0] ?? '', message: r.error })),
      tokens: values['tokens-out'] === undefined ? created.map((r) => ({ endpointId: r.endpointId, token: r.token })) : [],
    };
    io.out(json(result));
  } else {
    io.out(`${created.length} endpoint${created.length === 1 ? '' : 's'} created, ${failed.length} row${failed.length === 1 ? '' : 's'} failed.`);
    for (const r of failed) io.err(`line ${r.line}: ${r.error}`);
  }
  return failed.length > 0 ? 1 : 0;
}
