import { parseFlags } from '../../config/flags.js';
import { ROLES, isRole } from '../../core/accounts.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, table } from '../format.js';
import type { Io } from '../io.js';

interface UserView {
  username: string;
  role: string;
  createdDate: string;
  passwordChangedDate: string;
  lastSignInDate: string | null;
}

const help = `Usage: npx tether users <list|add|set-role|reset-password|remove> [options]

Manage dashboard users over the REST API of a running Tether (needs an admin API key: the
bootstrap key a local server keeps in <data-dir>/admin-api-key, or a named key with the admin role).
Roles: viewer (read only), operator (endpoints, tokens, metadata), admin (everything).

  npx tether users list
  npx tether users add <username> --role <role> [--password <password> | --stdin]
      Creates the user; without --password/--stdin a password is generated and printed once.
  npx tether users set-role <username> --role <role>
  npx tether users reset-password <username> [--password <password> | --stdin]
      Sets a new password (generated and printed when not given) and ends the user's sessions.
  npx tether users remove <username>

Locked out of every admin account? On the server: npx tether admin reset-password

${API_FLAGS_HELP}`;

const FLAGS = {
  ...API_FLAGS,
  role: { type: 'string' },
  password: { type: 'string' },
  stdin: { type: 'boolean' },
} as const;

const USAGE = { usage: 'see npx tether users --help' };

export const usersCommand: Command = {
  name: 'users',
  help,
  run(argv, io) {
    return runAction(usersCommand, { list, add, 'set-role': setRole, 'reset-password': resetPassword, remove }, argv, io);
  },
};

function parse(argv: string[], action: string, needsName = true) {
  const { values, positionals } = parseFlags(argv, FLAGS, { ...USAGE, maxPositionals: needsName ? 1 : 0 });
  const username = positionals[0];
  if (needsName && (username === undefined || username === '')) {
    throw errors.configInvalid('command line', `the username is missing; use npx tether users ${action} <username>`);
  }
  return { values, username: username ?? '' };
}

function role(value: string | undefined): string {
  if (!isRole(value)) throw errors.configInvalid(`--role ${JSON.stringify(value ?? '')}`, `use one of ${ROLES.join(', ')}`);
  return value;
}

async function newPassword(values: { password?: string | undefined; stdin?: boolean | undefined }, io: Io): Promise<{ password: string; generated: boolean }> {
  if (values.password !== undefined) return { password: values.password, generated: false };
  if (values.stdin === true) {
    if (!io.readStdin) throw errors.configInvalid('--stdin', 'standard input cannot be read here');
    return { password: (await io.readStdin()).split(/\r?\n/)[0] ?? '', generated: false };
  }
  const { randomBytes } = await import('node:crypto');
  return { password: randomBytes(18).toString('base64url'), generated: true };
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, 'list', false);
  const users = await (await createApiClient(values, io)).request<UserView[]>('GET', '/api/v1/users');
  if (values.json === true) io.out(json(users));
  else for (const line of table(['USERNAME', 'ROLE', 'LAST SIGN-IN', 'PASSWORD CHANGED'], users.map((u) => [u.username, u.role, u.lastSignInDate ?? '-', u.passwordChangedDate]))) io.out(line);
  return 0;
}

async function add(argv: string[], io: Io): Promise<number> {
  const { values, username } = parse(argv, 'add');
  const wanted = role(values.role);
  const { password, generated } = await newPassword(values, io);
  const user = await (await createApiClient(values, io)).request<UserView>('POST', '/api/v1/users', { username, role: wanted, password });
  if (values.json === true) io.out(json(user));
  else io.out(`User "${user.username}" created with the ${user.role} role.`);
  if (generated) io.out(`Password (shown only this once): ${password}`);
  return 0;
}

async function setRole(argv: string[], io: Io): Promise<number> {
  const { values, username } = parse(argv, 'set-role');
  const user = await (await createApiClient(values, io)).request<UserView>('PUT', `/api/v1/users/${encodeURIComponent(username)}/role`, { role: role(values.role) });
  io.out(values.json === true ? json(user) : `User "${user.username}" now has the ${user.role} role.`);
  return 0;
}

async function resetPassword(argv: string[], io: Io): Promise<number> {
  const { values, username } = parse(argv, 'reset-password');
  const { password, generated } = await newPassword(values, io);
  const user = await (await createApiClient(values, io)).request<UserView>('PUT', `/api/v1/users/${encodeURIComponent(username)}/password`, { password });
  io.out(values.json === true ? json(user) : `Password of "${user.username}" changed; their sessions have ended.`);
  if (generated) io.out(`New password (shown only this once): ${password}`);
  return 0;
}

async function remove(argv: string[], io: Io): Promise<number> {
  const { values, username } = parse(argv, 'remove');
  await (await createApiClient(values, io)).request('DELETE', `/api/v1/users/${encodeURIComponent(username)}`);
  io.out(`User "${username}" removed.`);
  return 0;
}
