/** `tether api-keys`: named API keys (docs/accounts.md) over the REST API of a running Tether. */
import { parseFlags } from '../../config/flags.js';
import { ROLES, isRole } from '../../core/accounts.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, table } from '../format.js';
import type { Io } from '../io.js';

interface KeyView {
  keyId: string;
  name: string;
  role: string;
  status: string;
  hint: string;
  createdBy: string;
  createdDate: string;
  lastUsedDate: string | null;
  revokedDate?: string;
}

const help = `Usage: npx tether api-keys <list|create|revoke> [options]

Named API keys for scripts, each with a role (viewer, operator or admin), over the REST API of a
running Tether (needs an admin API key). A key is shown once, when created; revoking stops it at once.

  npx tether api-keys list
  npx tether api-keys create <name> --role <role>
      Prints the key once; send it as Authorization: Bearer <key> or pass it as --api-key.
  npx tether api-keys revoke <keyId>

${API_FLAGS_HELP}`;

const FLAGS = { ...API_FLAGS, role: { type: 'string' } } as const;
const USAGE = { usage: 'see npx tether api-keys --help' };

export const apiKeysCommand: Command = {
  name: 'api-keys',
  help,
  run(argv, io) {
    return runAction(apiKeysCommand, { list, create, revoke }, argv, io);
  },
};

function oneName(argv: string[], action: string, what: string) {
  const { values, positionals } = parseFlags(argv, FLAGS, { ...USAGE, maxPositionals: 1 });
  const name = positionals[0];
  if (name === undefined || name === '') throw errors.configInvalid('command line', `the ${what} is missing; use npx tether api-keys ${action} <${what}>`);
  return { values, name };
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, USAGE);
  const keys = await (await createApiClient(values, io)).request<KeyView[]>('GET', '/api/v1/api-keys');
  if (values.json === true) io.out(json(keys));
  else for (const line of table(['KEY ID', 'NAME', 'ROLE', 'STATUS', 'KEY', 'LAST USED'], keys.map((k) => [k.keyId, k.name, k.role, k.status, k.hint, k.lastUsedDate ?? '-']))) io.out(line);
  return 0;
}

async function create(argv: string[], io: Io): Promise<number> {
  const { values, name } = oneName(argv, 'create', 'name');
  if (!isRole(values.role)) throw errors.configInvalid(`--role ${JSON.stringify(values.role ?? '')}`, `use one of ${ROLES.join(', ')}`);
  const created = await (await createApiClient(values, io)).request<KeyView & { key: string }>('POST', '/api/v1/api-keys', { name, role: values.role });
  if (values.json === true) {
    io.out(json(created));
    return 0;
  }
  io.out(`API key "${created.name}" created with the ${created.role} role (key ID ${created.keyId}).`);
  io.out('The key (shown only this once):');
  io.out(`  ${created.key}`);
  io.out('Use it as Authorization: Bearer <key>, or: npx tether endpoints list --api-key <key>');
  return 0;
}

async function revoke(argv: string[], io: Io): Promise<number> {
  const { values, name: keyId } = oneName(argv, 'revoke', 'keyId');
  const revoked = await (await createApiClient(values, io)).request<KeyView>('DELETE', `/api/v1/api-keys/${encodeURIComponent(keyId)}`);
  io.out(values.json === true ? json(revoked) : `API key "${revoked.name}" (${revoked.keyId}) revoked; it no longer works.`);
  return 0;
}
