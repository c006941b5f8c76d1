/**
 * `tether commands`: commands (Kaa CEX, 11/CEP) through the REST API of a running Tether, on Kaa's
 * CEX paths. `send` waits for the device's result like Kaa's `awaitTimeout`; `batch --watch`
 * follows a batch task until nothing is pending.
 */
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { ApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, parseCount, table } from '../format.js';
import type { Io } from '../io.js';
import { abortOnSignals, sleepUnlessAborted } from '../sleep.js';

const CEX = '/cex/api/v1';
const DEFAULT_WAIT_S = 5;
const WATCH_EVERY_MS = 500;

/** `commands send` exit codes (documented in the help). */
const EXIT = { executed: 0, failed: 1, pending: 2 } as const;

interface CommandView {
  commandId: string;
  commandType: string;
  endpointId: string;
  status: 'PENDING' | 'EXECUTED' | 'EXPIRED';
  statusCode: number | null;
  reasonPhrase: string | null;
  requestPayload: unknown;
  responsePayload: unknown;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

interface TaskView {
  taskId: string;
  applicationName: string;
  commandType: string;
  endpointCount: number;
  pending: number;
  executed: number;
  expired: number;
  expiresAt: string;
  executedCommands?: CommandView[];
}

const help = `Usage: npx tether commands <send|list|batch> [options]

Commands (Kaa CEX, 11/CEP) through the REST API of a running Tether. A command is stored first,
then pushed to the device's live session on kp1/<app-version>/cex/<token>/command/<type>/status;
an offline device gets it when it connects, until its time to live runs out. Try it with a
simulated device that answers \`echo\` and \`reboot\`: npx tether device --token <token> --observe

  npx tether commands send --endpoint <id> --type <type> [--payload <json or text>] [--wait <s>] [--ttl <ms>]
      Sends one command and waits up to --wait seconds (default ${DEFAULT_WAIT_S}, at most 60; 0: do
      not wait) for the device's result. Prints the status, the device's status code and its
      response. --payload is sent as JSON when it parses as JSON, else as text. --ttl: how long the
      command stays deliverable, in milliseconds (default 60000).
      Exit codes: 0 the device executed it with a 2xx status code; 2 still PENDING after --wait
      (it stays deliverable until its TTL: see it later with \`commands list\`); 1 the device
      answered another code, the command EXPIRED, or the request failed.
  npx tether commands list --endpoint <id> [--type <type>] [--limit <n>]
      The endpoint's commands, newest first, with status, status code and response.
  npx tether commands batch --type <type> (--endpoints <id,id,...> | --app <application> [--search <text>] [--filter <expr>]...)
                            [--payload <json or text>] [--ttl <ms>] [--watch]
      One command to many endpoints (a batch task); prints the task ID. --app addresses every
      endpoint of the application that the Endpoint List's --search and --filter match
      (<key>=<value>, <key>~<text>, <key>: as in npx tether endpoints export). --watch prints the
      progress until nothing is pending; it then exits 0 when every command was executed with a
      2xx status code, 1 otherwise.

Kaa's REST equivalents: POST ${CEX}/endpoints/<id>/commands/<type>?awaitTimeout=<s>&commandTtl=<ms>,
GET ${CEX}/endpoints/commands?endpointId=<id>, POST ${CEX}/endpoints/commands/<type>/batch/by-endpoints,
GET ${CEX}/endpoints/commands/batch/tasks/<taskId>.

${API_FLAGS_HELP}`;

const SEND_FLAGS = {
  ...API_FLAGS,
  endpoint: { type: 'string' },
  type: { type: 'string' },
  payload: { type: 'string' },
  wait: { type: 'string' },
  ttl: { type: 'string' },
} as const;

const LIST_FLAGS = { ...API_FLAGS, endpoint: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' } } as const;

const BATCH_FLAGS = {
  ...API_FLAGS,
  type: { type: 'string' },
  endpoints: { type: 'string' },
  app: { type: 'string' },
  search: { type: 'string' },
  filter: { type: 'string', multiple: true },
  payload: { type: 'string' },
  ttl: { type: 'string' },
  watch: { type: 'boolean' },
} as const;

const USAGE = { usage: 'see npx tether commands --help' };

export const commandsCommand: Command = {
  name: 'commands',
  help,
  run(argv, io) {
    return runAction(commandsCommand, { send, list, batch }, argv, io);
  },
};

function required(value: string | undefined, flag: string, shape: string): string {
  if (value === undefined || value === '') throw errors.configInvalid('command line', `${flag} is missing; use ${shape}`);
  return value;
}

/** --payload: JSON when it parses as JSON (`42`, `"x"`, `{…}`), else the text itself. */
function payloadOf(text: string | undefined): { json: unknown } | { text: string } | undefined {
  if (text === undefined) return undefined;
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { text };
  }
}

async function send(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, SEND_FLAGS, USAGE);
  const shape = 'npx tether commands send --endpoint <id> --type <type>';
  const endpointId = required(values.endpoint, '--endpoint', shape);
  const type = required(values.type, '--type', shape);
  const wait = values.wait !== undefined ? parseCount('--wait', values.wait, 0) : DEFAULT_WAIT_S;
  if (wait > 60) throw errors.configInvalid(`--wait ${values.wait}`, 'wait at most 60 seconds (Kaa\'s limit); follow a longer one with npx tether commands list');
  const query = new URLSearchParams({ awaitTimeout: String(wait) });
  if (values.ttl !== undefined) query.set('commandTtl', String(parseCount('--ttl', values.ttl, 1)));
  const client = await createApiClient(values, io);
  const url = `${CEX}/endpoints/${encodeURIComponent(endpointId)}/commands/${encodeURIComponent(type)}?${query.toString()}`;
  const payload = payloadOf(values.payload);
  const command =
    payload !== undefined && 'text' in payload
      ? ((await (await client.raw('POST', url, { text: payload.text, contentType: 'text/plain' })).json()) as CommandView)
      : await client.request<CommandView>('POST', url, payload?.json);
  if (values.json === true) io.out(json(command));
  else printCommand(command, io, wait);
  if (command.status === 'PENDING') return EXIT.pending;
  return command.status === 'EXECUTED' && succeeded(command.statusCode) ? EXIT.executed : EXIT.failed;
}

function succeeded(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

function printCommand(c: CommandView, io: Io, waitS: number): void {
  io.out(`Command ${c.commandId} (${c.commandType}) for endpoint ${c.endpointId}: ${c.status}`);
  if (c.status === 'PENDING') {
    io.out(`  No result within ${waitS} s; the device gets it when it is connected, until ${c.expiresAt}.`);
    io.out(`  Follow it with: npx tether commands list --endpoint ${c.endpointId} --type ${c.commandType}`);
    return;
  }
  if (c.status === 'EXPIRED') {
    io.out('  Its time to live ran out before the device reported a result; it will not be sent again.');
    return;
  }
  io.out(`  Status code: ${c.statusCode ?? '-'}${c.reasonPhrase ? ` ${c.reasonPhrase}` : ''}`);
  io.out(`  Response:    ${c.responsePayload === null || c.responsePayload === undefined ? '(none)' : JSON.stringify(c.responsePayload)}`);
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, LIST_FLAGS, USAGE);
  const endpointId = required(values.endpoint, '--endpoint', 'npx tether commands list --endpoint <id>');
  const query = new URLSearchParams({ endpointId });
  if (values.type !== undefined) query.set('commandTypes', values.type);
  if (values.limit !== undefined) query.set('limit', String(parseCount('--limit', values.limit, 1)));
  const client = await createApiClient(values, io);
  const commands = await client.request<CommandView[]>('GET', `${CEX}/endpoints/commands?${query.toString()}`);
  if (values.json === true) {
    io.out(json(commands));
    return 0;
  }
  if (commands.length === 0) {
    io.out(`No commands for endpoint ${endpointId}${values.type !== undefined ? ` of type ${values.type}` : ''}. Send one with: npx tether commands send --endpoint ${endpointId} --type <type>`);
    return 0;
  }
  const rows = commands.map((c) => [
    c.commandId,
    c.commandType,
    c.status,
    c.statusCode === null ? '-' : `${c.statusCode}${c.reasonPhrase ? ` ${c.reasonPhrase}` : ''}`,
    c.createdAt,
    c.responsePayload === null || c.responsePayload === undefined ? '-' : truncate(JSON.stringify(c.responsePayload), 60),
  ]);
  for (const line of table(['ID', 'TYPE', 'STATUS', 'RESULT', 'CREATED', 'RESPONSE'], rows)) io.out(line);
  return 0;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

async function batch(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, BATCH_FLAGS, USAGE);
  const shape = 'npx tether commands batch --type <type> (--endpoints <id,id,...> | --app <application> [--search <text>])';
  const type = required(values.type, '--type', shape);
  if ((values.endpoints === undefined) === (values.app === undefined)) {
    throw errors.configInvalid('command line', `name the endpoints once: --endpoints <id,id,...> or --app <application> [--search <text>] (${shape})`);
  }
  const filters = (values.filter as unknown as string[] | undefined) ?? [];
  if ((values.search !== undefined || filters.length > 0) && values.app === undefined) throw errors.configInvalid('command line', '--search and --filter go with --app <application>');
  const payload = payloadOf(values.payload);
  // A batch carries its payload inside a JSON body: text travels as a JSON string.
  const body: Record<string, unknown> = {};
  if (payload !== undefined) body['payload'] = 'text' in payload ? payload.text : payload.json;
  if (values.ttl !== undefined) body['commandTtl'] = parseCount('--ttl', values.ttl, 1);
  const client = await createApiClient(values, io);
  let taskId: string;
  if (values.endpoints !== undefined) {
    const endpointIds = values.endpoints.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (endpointIds.length === 0) throw errors.configInvalid(`--endpoints ${JSON.stringify(values.endpoints)}`, 'give endpoint IDs separated by commas');
    ({ taskId } = await client.request<{ taskId: string }>('POST', `${CEX}/endpoints/commands/${encodeURIComponent(type)}/batch/by-endpoints`, { ...body, endpointIds }));
  } else {
    const query = new URLSearchParams({ applicationName: values.app! });
    if (values.search !== undefined) query.set('search', values.search);
    for (const filter of filters) query.append('filter', filter);
    ({ taskId } = await client.request<{ taskId: string }>('POST', `${CEX}/endpoints/commands/${encodeURIComponent(type)}/batch/by-query?${query.toString()}`, body));
  }
  if (values.watch !== true) {
    if (values.json === true) io.out(json({ taskId }));
    else {
      io.out(`Batch task ${taskId} started.`);
      io.out(`Follow it with: npx tether commands batch --watch … or GET ${CEX}/endpoints/commands/batch/tasks/${taskId}`);
    }
    return 0;
  }
  if (values.json !== true) io.out(`Batch task ${taskId} started.`);
  return watch(client, taskId, values.json === true, io);
}

/** Prints a progress line whenever the counts change, until nothing is pending (at the latest when the TTL ran out). */
async function watch(client: ApiClient, taskId: string, asJson: boolean, io: Io): Promise<number> {
  const stop = abortOnSignals('SIGINT');
  try {
    let last = '';
    for (;;) {
      const task = await client.request<TaskView>('GET', `${CEX}/endpoints/commands/batch/tasks/${encodeURIComponent(taskId)}`);
      const line = `${task.executed} executed, ${task.pending} pending, ${task.expired} expired of ${task.endpointCount}`;
      if (line !== last) {
        if (asJson) io.out(JSON.stringify({ taskId, endpointCount: task.endpointCount, executed: task.executed, pending: task.pending, expired: task.expired }));
        else io.out(`${new Date().toISOString()}  ${line}`);
        last = line;
      }
      if (task.pending === 0) return await outcome(client, task, asJson, io);
      if (stop.signal.aborted) {
        if (!asJson) io.out(`Stopped watching; the task goes on (GET ${CEX}/endpoints/commands/batch/tasks/${taskId}).`);
        return EXIT.pending;
      }
      await sleepUnlessAborted(WATCH_EVERY_MS, stop.signal);
    }
  } finally {
    stop.release();
  }
}

async function outcome(client: ApiClient, task: TaskView, asJson: boolean, io: Io): Promise<number> {
  // The task's counts say executed, not how: the commands say which answered with a failure code.
  const detail = await client.request<TaskView>('GET', `${CEX}/endpoints/commands/batch/tasks/${encodeURIComponent(task.taskId)}?include=commands`);
  const failed = (detail.executedCommands ?? []).filter((c) => !succeeded(c.statusCode));
  if (!asJson) {
    io.out(`Done: ${task.executed - failed.length} succeeded, ${failed.length} answered with a failure code, ${task.expired} expired.`);
    for (const c of failed.slice(0, 20)) io.out(`  ${c.endpointId}: ${c.statusCode ?? '-'}${c.reasonPhrase ? ` ${c.reasonPhrase}` : ''}`);
    if (failed.length > 20) io.out(`  … and ${failed.length - 20} more`);
  }
  return failed.length === 0 && task.expired === 0 ? EXIT.executed : EXIT.failed;
}

