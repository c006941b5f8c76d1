import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, table } from '../format.js';
import type { Io } from '../io.js';

const BASE = '/cm/api/v1/client-credentials';
const DEFAULT_APP = 'demo_application';
const PASSWORD_ENV = 'TETHER_CREDENTIAL_PASSWORD';

interface CredentialView {
  credentialId: string;
  applicationName: string;
  kind: 'basic' | 'x509';
  username: string | null;
  certificateFingerprint: string | null;
  certificateSubject: string | null;
  boundEndpoints: string[];
  status: string;
  createdDate: string;
  statusUpdatedDate: string;
  password?: string;
}

type StatusAction = 'suspend' | 'reactivate' | 'revoke';

const help = `Usage: npx tether credentials <create|list|suspend|reactivate|revoke|delete|bind> [options]

Manage client credentials (Kaa CM) through the REST API of a running Tether: what MQTT clients
present at CONNECT when client authentication is basic or x509 (see npx tether start --help).

  npx tether credentials create --username <name> [--app <application>] [--endpoints <id,id,...>]
      A basic (username/password) credential. The password is generated and shown only this
      once, unless ${PASSWORD_ENV} holds one (no flag: command lines are visible to other users).
  npx tether credentials create --certificate <file.pem> [--app <application>] [--endpoints <id,id,...>]
  npx tether credentials create --fingerprint <sha256-hex> [--app <application>]
      An x509 credential: the client certificate presented over mutual TLS.
      --app defaults to ${DEFAULT_APP}; --endpoints binds the credential to those endpoints (gateway).
  npx tether credentials list [--app <application>]
  npx tether credentials suspend <credentialId>       disconnects clients using it; reversible
  npx tether credentials reactivate <credentialId>
  npx tether credentials revoke <credentialId>        final: the credential can never be used again
  npx tether credentials delete <credentialId>        disconnects clients using it
  npx tether credentials bind <credentialId> --endpoints <id,id,...>   ('' removes the binding)

${API_FLAGS_HELP}`;

const USAGE = { usage: 'see npx tether credentials --help' };
const CREATE_FLAGS = {
  ...API_FLAGS,
  app: { type: 'string' },
  username: { type: 'string' },
  certificate: { type: 'string' },
  fingerprint: { type: 'string' },
  endpoints: { type: 'string' },
  description: { type: 'string' },
} as const;
const LIST_FLAGS = { ...API_FLAGS, app: { type: 'string' } } as const;
const BIND_FLAGS = { ...API_FLAGS, endpoints: { type: 'string' } } as const;

export const credentialsCommand: Command = {
  name: 'credentials',
  help,
  run(argv, io) {
    return runAction(credentialsCommand, {
      create,
      list,
      suspend: (rest, io) => changeStatus('suspend', rest, io),
      reactivate: (rest, io) => changeStatus('reactivate', rest, io),
      revoke: (rest, io) => changeStatus('revoke', rest, io),
      delete: remove,
      bind,
    }, argv, io);
  },
};

function endpointList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function credentialId(positionals: string[], action: string): string {
  const [id] = positionals;
  if (id === undefined || id === '') throw errors.configInvalid('command line', `the credential ID is missing; use npx tether credentials ${action} <credentialId>`);
  return id;
}

async function create(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, CREATE_FLAGS, USAGE);
  const given = [values.username, values.certificate, values.fingerprint].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw errors.configInvalid('command line', 'give exactly one of --username (basic), --certificate <file.pem> or --fingerprint <hex> (x509)');
  }
  const body: Record<string, unknown> = { applicationName: values.app ?? DEFAULT_APP };
  if (values.username !== undefined) {
    body.kind = 'basic';
    body.username = values.username;
    const password = io.env[PASSWORD_ENV];
    if (password !== undefined && password !== '') body.password = password;
  } else {
    body.kind = 'x509';
    if (values.certificate !== undefined) {
      const file = path.resolve(io.cwd, values.certificate);
      try {
        body.certificate = await readFile(file, 'utf8');
      } catch (err) {
        throw errors.configInvalid(`--certificate ${JSON.stringify(values.certificate)}`, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else {
      body.certificateFingerprint = values.fingerprint;
    }
  }
  if (values.endpoints !== undefined) body.endpoints = endpointList(values.endpoints);
  if (values.description !== undefined) body.description = values.description;
  const client = await createApiClient(values, io);
  const created = await client.request<CredentialView>('POST', BASE, body);
  if (values.json === true) {
    io.out(json(created));
    return 0;
  }
  io.out(`Client credential created for application ${created.applicationName}.`);
  io.out(`  Credential ID: ${created.credentialId}`);
  if (created.kind === 'basic') {
    io.out(`  Username:      ${created.username ?? ''}`);
    if (created.password !== undefined) {
      io.out(`  Password:      ${created.password}`);
      io.out('The password is shown only this once.');
    }
  } else {
    io.out(`  Fingerprint:   ${created.certificateFingerprint ?? ''}`);
    if (created.certificateSubject) io.out(`  Subject:       ${created.certificateSubject}`);
  }
  if (created.boundEndpoints.length > 0) io.out(`  Bound to:      ${created.boundEndpoints.join(', ')}`);
  return 0;
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS, USAGE);
  const client = await createApiClient(values, io);
  const query = values.app !== undefined ? `?applicationName=${encodeURIComponent(values.app)}` : '';
  const credentials = await client.request<CredentialView[]>('GET', `${BASE}${query}`);
  if (values.json === true) {
    io.out(json(credentials));
    return 0;
  }
  if (credentials.length === 0) {
    io.out('No client credentials. Create one with: npx tether credentials create --username <name>');
    return 0;
  }
  const rows = credentials.map((c) => [
    c.credentialId,
    c.applicationName,
    c.kind,
    c.status,
    c.kind === 'basic' ? (c.username ?? '') : `sha256:${(c.certificateFingerprint ?? '').slice(0, 16)}…`,
    c.boundEndpoints.length > 0 ? String(c.boundEndpoints.length) : '-',
  ]);
  for (const line of table(['CREDENTIAL ID', 'APPLICATION', 'KIND', 'STATUS', 'USERNAME / CERTIFICATE', 'BOUND'], rows)) io.out(line);
  return 0;
}

async function changeStatus(action: StatusAction, argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const id = credentialId(positionals, action);
  const client = await createApiClient(values, io);
  const updated = await client.request<CredentialView>('POST', `${BASE}/${encodeURIComponent(id)}/${action}`);
  if (values.json === true) io.out(json(updated));
  else io.out(`Client credential ${updated.credentialId} is now ${updated.status}.`);
  return 0;
}

async function remove(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const id = credentialId(positionals, 'delete');
  const client = await createApiClient(values, io);
  await client.request<undefined>('DELETE', `${BASE}/${encodeURIComponent(id)}`);
  io.out(`Client credential ${id} deleted.`);
  return 0;
}

async function bind(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, BIND_FLAGS, { ...USAGE, maxPositionals: 1 });
  const id = credentialId(positionals, 'bind');
  if (values.endpoints === undefined) throw errors.configInvalid('command line', "--endpoints <id,id,...> is missing ('' removes the binding)");
  const client = await createApiClient(values, io);
  const updated = await client.request<CredentialView>('PUT', `${BASE}/${encodeURIComponent(id)}/endpoints`, { endpoints: endpointList(values.endpoints) });
  if (values.json === true) io.out(json(updated));
  else io.out(updated.boundEndpoints.length > 0 ? `Client credential ${id} is bound to ${updated.boundEndpoints.join(', ')}.` : `Client credential ${id} is not bound to endpoints.`);
  return 0;
}
