/**
 * `tether config`: configurations (Kaa ECR, 7/CMP) through the REST API of a running Tether. The
 * paths are Kaa's ECR ones, so what this command does a Kaa REST client can do the same way.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { ApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, parseCount, table } from '../format.js';
import type { Io } from '../io.js';

const ECR = '/ecr/api/v1';
const EPR = '/epr/api/v1';

interface ConfigurationView {
  configId: string;
  name: string;
  config: unknown;
  createdDate: string;
  updatedDate: string;
}

interface StatusView {
  configId: string;
  name: string;
  endpointId: string;
  appVersionName: string;
  status: string;
  lastDispatchedDate: string | null;
  lastConfirmedDate: string | null;
  confirmationStatusCode: number | null;
  confirmationReasonPhrase: string | null;
}

const help = `Usage: npx tether config <get|set|delete|list|statuses> [options]

Configurations (Kaa ECR, 7/CMP) through the REST API of a running Tether. A configuration set
here reaches a connected device at once on kp1/<app-version>/cmx/<token>/config/json[/<name>]/status,
and a device that is offline when it connects (try: npx tether device --token <token> --observe).

  npx tether config get    (--endpoint <id> | --default --app-version <name>) [--name <name>]
      Prints the configuration: its configId, dates and the document.
  npx tether config set    (--endpoint <id> | --default --app-version <name>) [--name <name>]
                           (--config '<json>' | --file <path>) [--if-match <configId>]
      Sets the configuration and prints its configId (a hash of the content: setting the same
      document again changes nothing and pushes nothing). --file - reads standard input.
      --if-match: only if the configuration is still the one you read (else an error: someone
      changed it meanwhile; * means "only if one exists").
  npx tether config delete (--endpoint <id> | --default --app-version <name>) [--name <name>] [--if-match <configId>]
      Removes it; an endpoint then falls back to its application version's default.
  npx tether config list   (--endpoint <id> | --default --app-version <name>)
      Every configuration by name: the endpoint's own (not the defaults it falls back to), or the
      version's defaults.
  npx tether config statuses --endpoint <id> [--app-version <name>] [--name <name>] [--config-id <id>]
                             [--page <n>] [--size <n>]
      What was dispatched to the endpoint and what the device reported: DISPATCHED (sent, no
      report yet), APPLIED (the device reported 2xx), FAILED (it reported another code).

  --endpoint <id>        the endpoint whose own configuration is meant
  --default              the application version's default instead (every endpoint without a
                         configuration of its own gets it)
  --app-version <name>   the application version; with --endpoint it defaults to the endpoint's
  --name <name>          a named configuration (7/CMP config/json/<name>); default: the unnamed one

Kaa's REST equivalents: GET|PUT|DELETE ${ECR}/endpoints/<id>/app-versions/<version>[?name=<name>],
${ECR}/app-versions/<version>[?name=] for the default, GET ${ECR}/statuses?endpointId=<id>.

${API_FLAGS_HELP}`;

const TARGET_FLAGS = {
  ...API_FLAGS,
  endpoint: { type: 'string' },
  default: { type: 'boolean' },
  'app-version': { type: 'string' },
  name: { type: 'string' },
} as const;

const SET_FLAGS = { ...TARGET_FLAGS, config: { type: 'string' }, file: { type: 'string', short: 'f' }, 'if-match': { type: 'string' } } as const;
const DELETE_FLAGS = { ...TARGET_FLAGS, 'if-match': { type: 'string' } } as const;

/** --if-match <configId>: the write happens only if the configuration is still that one (HTTP If-Match). */
function ifMatch(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  if (value === '' || value.includes('"')) throw errors.configInvalid(`--if-match ${JSON.stringify(value)}`, 'give the configId you read (npx tether config get), or * for "only if one exists"');
  return { 'if-match': value === '*' ? '*' : `"${value}"` };
}

const STATUS_FLAGS = {
  ...API_FLAGS,
  endpoint: { type: 'string' },
  'app-version': { type: 'string' },
  name: { type: 'string' },
  'config-id': { type: 'string' },
  page: { type: 'string' },
  size: { type: 'string' },
} as const;

const USAGE = { usage: 'see npx tether config --help' };

export const configCommand: Command = {
  name: 'config',
  help,
  run(argv, io) {
    return runAction(configCommand, { get, set, delete: remove, list, statuses }, argv, io);
  },
};

interface Target {
  /** The ECR path, without the `?name=` query. */
  path: string;
  query: string;
  /** For messages: "endpoint X (version v)" or "application version v (default)". */
  label: string;
}

type TargetFlags = { endpoint?: string | undefined; default?: boolean | undefined; 'app-version'?: string | undefined; name?: string | undefined };

async function resolveTarget(values: TargetFlags, client: ApiClient, action: string): Promise<Target> {
  const shape = `npx tether config ${action} --endpoint <id> (or --default --app-version <name>)`;
  if (values.endpoint !== undefined && values.default === true) {
    throw errors.configInvalid('command line', `--endpoint and --default contradict each other: ${shape}`);
  }
  const query = values.name !== undefined ? `?${new URLSearchParams({ name: values.name }).toString()}` : '';
  const named = values.name !== undefined && values.name !== 'default' ? `configuration "${values.name}"` : 'default configuration';
  if (values.default === true) {
    const version = values['app-version'];
    if (version === undefined || version === '') throw errors.configInvalid('command line', `--default needs the application version: ${shape}`);
    return { path: `${ECR}/app-versions/${encodeURIComponent(version)}`, query, label: `the ${named} of application version ${version} (the default for its endpoints)` };
  }
  const endpointId = values.endpoint;
  if (endpointId === undefined || endpointId === '') throw errors.configInvalid('command line', `the endpoint is missing; use ${shape}`);
  // An endpoint runs one version: without --app-version the endpoint's own is meant.
  const version = values['app-version'] ?? (await client.request<{ appVersion: { name: string } }>('GET', `${EPR}/endpoints/${encodeURIComponent(endpointId)}`)).appVersion.name;
  return {
    path: `${ECR}/endpoints/${encodeURIComponent(endpointId)}/app-versions/${encodeURIComponent(version)}`,
    query,
    label: `the ${named} of endpoint ${endpointId} (version ${version})`,
  };
}

async function get(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, TARGET_FLAGS, USAGE);
  const client = await createApiClient(values, io);
  const target = await resolveTarget(values, client, 'get');
  const found = await client.request<ConfigurationView>('GET', target.path + target.query);
  if (values.json === true) {
    io.out(json(found));
    return 0;
  }
  io.out(`Configuration: ${target.label}`);
  io.out(`  Config ID:  ${found.configId}`);
  io.out(`  Created:    ${found.createdDate}`);
  io.out(`  Updated:    ${found.updatedDate}`);
  io.out(json(found.config));
  return 0;
}

async function set(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, SET_FLAGS, USAGE);
  const document = await readDocument(values, io);
  const condition = ifMatch(values['if-match']);
  const client = await createApiClient(values, io);
  const target = await resolveTarget(values, client, 'set');
  const stored = await client.request<ConfigurationView>('PUT', target.path + target.query, document, condition);
  if (values.json === true) io.out(json(stored));
  else {
    io.out(`Configuration set: ${target.label}`);
    io.out(`  Config ID:  ${stored.configId}`);
    io.out(`  Updated:    ${stored.updatedDate}`);
    io.out('Connected devices get it at once; see what they report with: npx tether config statuses --endpoint <id>');
  }
  return 0;
}

async function readDocument(values: { config?: string | undefined; file?: string | undefined }, io: Io): Promise<unknown> {
  if ((values.config === undefined) === (values.file === undefined)) {
    throw errors.configInvalid('command line', `give the configuration once: --config '<json>' or --file <path> (--file - reads standard input)`);
  }
  let text: string;
  let flag: string;
  if (values.config !== undefined) {
    text = values.config;
    flag = '--config';
  } else {
    flag = `--file ${JSON.stringify(values.file)}`;
    if (values.file === '-') {
      if (!io.readStdin) throw errors.configInvalid(flag, 'standard input cannot be read here; give a file path');
      text = await io.readStdin();
    } else {
      try {
        text = await readFile(path.resolve(io.cwd, values.file!), 'utf8');
      } catch (err) {
        throw errors.configInvalid(flag, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.configInvalid(flag, `it is not JSON (${(err as Error).message}); a configuration is any JSON document, e.g. '{"interval": 30}'`);
  }
}

async function remove(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, DELETE_FLAGS, USAGE);
  const condition = ifMatch(values['if-match']);
  const client = await createApiClient(values, io);
  const target = await resolveTarget(values, client, 'delete');
  await client.request('DELETE', target.path + target.query, undefined, condition);
  if (values.json === true) io.out(json({ deleted: true }));
  else io.out(`Configuration deleted: ${target.label}.`);
  return 0;
}

const LIST_FLAGS = { ...API_FLAGS, endpoint: { type: 'string' }, default: { type: 'boolean' }, 'app-version': { type: 'string' } } as const;

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS, USAGE);
  const client = await createApiClient(values, io);
  const target = await resolveTarget(values, client, 'list');
  const found = await client.request<ConfigurationView[]>('GET', `${target.path}/configurations`);
  if (values.json === true) {
    io.out(json(found));
    return 0;
  }
  const whose = values.default === true ? `application version ${values['app-version']}` : `endpoint ${values.endpoint}`;
  if (found.length === 0) {
    io.out(`No configurations of ${whose}${values.default === true ? '' : ' of its own (it gets its version\'s defaults)'}.`);
    return 0;
  }
  const rows = found.map((c) => [c.name, c.configId, c.updatedDate, truncate(JSON.stringify(c.config), 60)]);
  for (const line of table(['NAME', 'CONFIG ID', 'UPDATED', 'CONFIG'], rows)) io.out(line);
  return 0;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

async function statuses(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, STATUS_FLAGS, USAGE);
  if (values.endpoint === undefined || values.endpoint === '') {
    throw errors.configInvalid('command line', 'the endpoint is missing; use npx tether config statuses --endpoint <id>');
  }
  const query = new URLSearchParams({ endpointId: values.endpoint });
  if (values['app-version'] !== undefined) query.set('appVersionName', values['app-version']);
  if (values.name !== undefined) query.set('name', values.name);
  if (values['config-id'] !== undefined) query.set('configId', values['config-id']);
  if (values.page !== undefined) query.set('page', String(parseCount('--page', values.page, 0)));
  if (values.size !== undefined) query.set('size', String(parseCount('--size', values.size, 1)));
  const client = await createApiClient(values, io);
  const page = await client.request<{ content: StatusView[]; totalElements: number }>('GET', `${ECR}/statuses?${query.toString()}`);
  if (values.json === true) {
    io.out(json(page));
    return 0;
  }
  if (page.content.length === 0) {
    io.out(page.totalElements === 0 ? `No configuration was dispatched to endpoint ${values.endpoint} yet (it gets one when it is connected or connects).` : `No statuses on this page (${page.totalElements} in total).`);
    return 0;
  }
  const rows = page.content.map((s) => [
    s.name,
    s.configId,
    s.status,
    s.lastDispatchedDate ?? '-',
    s.lastConfirmedDate ?? '-',
    s.confirmationStatusCode === null ? '-' : `${s.confirmationStatusCode}${s.confirmationReasonPhrase ? ` ${s.confirmationReasonPhrase}` : ''}`,
  ]);
  for (const line of table(['NAME', 'CONFIG ID', 'STATUS', 'DISPATCHED', 'CONFIRMED', 'REPORTED'], rows)) io.out(line);
  io.out(`${page.content.length} shown of ${page.totalElements}.`);
  return 0;
}
