/** `tether audit`: the audit log (docs/accounts.md) over the REST API of a running Tether. */
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, parseCount, table } from '../format.js';
import type { Io } from '../io.js';

interface Entry {
  id: number;
  at: string;
  actor: { kind: string; name: string; role: string | null };
  clientAddress: string | null;
  action: string;
  endpointId: string | null;
  target: string | null;
}

const help = `Usage: npx tether audit list [options]

Who changed what, newest first, over the REST API of a running Tether (needs an admin API key).

  --endpoint <id>    entries about one endpoint
  --actor <name>     entries by one user or API key
  --action <action>  e.g. token.revoke, metadata.update, user.create (docs/accounts.md lists them)
  --from <date>      from this ISO date-time (inclusive), e.g. 2026-12-01T00:00:00Z
  --to <date>        until this ISO date-time (exclusive)
  --limit <n>        at most n entries (1 to 500, default 100)
  --before <id>      the page after the entry with this ID (the "next" the previous page printed)

${API_FLAGS_HELP}`;

const FLAGS = {
  ...API_FLAGS,
  endpoint: { type: 'string' },
  actor: { type: 'string' },
  action: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
} as const;

export const auditCommand: Command = {
  name: 'audit',
  help,
  run(argv, io) {
    return runAction(auditCommand, { list }, argv, io);
  },
};

function isoDate(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (Number.isNaN(Date.parse(text))) throw errors.configInvalid(`${flag} ${JSON.stringify(text)}`, 'use an ISO date-time, e.g. 2026-12-01T00:00:00Z');
  return new Date(text).toISOString();
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, { usage: 'see npx tether audit --help' });
  const query = new URLSearchParams();
  const set = (name: string, value: string | undefined) => value !== undefined && query.set(name, value);
  set('endpointId', values.endpoint);
  set('actor', values.actor);
  set('action', values.action);
  set('from', isoDate('--from', values.from));
  set('to', isoDate('--to', values.to));
  if (values.limit !== undefined) query.set('limit', String(parseCount('--limit', values.limit, 1)));
  if (values.before !== undefined) query.set('before', String(parseCount('--before', values.before, 1)));
  const page = await (await createApiClient(values, io)).request<{ content: Entry[]; next: number | null }>('GET', `/api/v1/audit${query.size > 0 ? `?${query.toString()}` : ''}`);
  if (values.json === true) {
    io.out(json(page));
    return 0;
  }
  const rows = page.content.map((e) => [String(e.id), e.at, `${e.actor.name}${e.actor.role ? ` (${e.actor.role})` : ''}`, e.action, e.target ?? e.endpointId ?? '-', e.clientAddress ?? '-']);
  for (const line of table(['ID', 'AT', 'WHO', 'ACTION', 'TARGET', 'FROM'], rows)) io.out(line);
  if (page.next !== null) io.out(`More: npx tether audit list --before ${page.next} (with the same filters)`);
  return 0;
}
