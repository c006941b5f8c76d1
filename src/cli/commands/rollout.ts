/**
 * `tether rollout`: rollouts of a software version (after AWS IoT Jobs: a rate, growth, an abort
 * rule) through the REST API of a running Tether. `watch` follows one until it ends.
 */
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import type { RolloutDeviceState, RolloutState } from '../../core/software.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { ApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, parseCount, table } from '../format.js';
import type { Io } from '../io.js';
import { sleepUnlessAborted } from '../sleep.js';
import { OTAO } from './software.js';

const WATCH_EVERY_MS = 1000;
const DEFAULT_DEADLINE_S = 3600;

/** `rollout watch` (and `start --watch`) exit codes, documented in the help. */
const EXIT = { completed: 0, failed: 1, running: 2 } as const;

export type Counts = Record<RolloutDeviceState, number>;

export interface RolloutView {
  rolloutId: string;
  applicationName: string;
  version: string;
  target: unknown;
  rate: { perMinute: number; growth?: { factor: number; everySuccesses: number } } | null;
  abort: { failurePercent: number; minAttempted: number; reportTimeoutSeconds?: number } | null;
  state: RolloutState;
  reason: string | null;
  counts: Counts;
  createdAt: string;
  updatedAt: string;
}

interface DeviceView {
  endpointId: string;
  state: RolloutDeviceState;
  reason: string | null;
  offeredAt: string | null;
  finishedAt: string | null;
}

const help = `Usage: npx tether rollout <start|list|show|pause|resume|cancel|watch> [options]

Rollouts offer a software version (npx tether software) to a set of endpoints at a rate, and stop
themselves when too many devices fail. Each device is offered the version on
kp1/<app-version>/cmx_ota/<token>/config/json/status and reports on …/cmx_ota/<token>/applied/json;
its state goes pending → offered → applied, failed (with the device's reason) or timed_out.

  npx tether rollout start <application> <version> <target> [rate] [abort rule] [--watch [--deadline <s>]]
      Target, one of:
        --app-version <name>            every endpoint of that application version
        --endpoints <id,id,...>         these endpoints
        --search <text> / --filter <expr>...   the endpoints the Endpoint List's search and filters
                                        match (<key>=<value>, <key>~<text>, <key>), as in
                                        npx tether commands batch --app
      Rate (default: everyone at once):
        --per-minute <n>                devices offered per minute
        --growth-factor <x> --growth-every <n>   multiply the rate by x after every n successes
      Abort rule (default: none):
        --abort-percent <p> --abort-min <n>      stop when more than p % of at least n attempted
                                        devices failed
        --report-timeout <s>            a device that does not report within s seconds of its
                                        offer counts as failed (timed_out)
      Prints the rollout ID; --watch then follows it as \`rollout watch\` does.
  npx tether rollout list <application> [--state running|paused|completed|cancelled|aborted] [--limit <n>]
  npx tether rollout show <rolloutId>
      State, counts per device state, and the failed devices with their reasons.
  npx tether rollout pause|resume|cancel <rolloutId>
      Pause stops new offers (offered devices may still report); cancel ends it and withdraws the
      offers not yet applied.
  npx tether rollout watch <rolloutId> [--deadline <s>]
      Prints the progress whenever it changes until the rollout ends or --deadline seconds
      (default ${DEFAULT_DEADLINE_S}) pass. Exit codes: 0 completed with no device failed; 1 aborted,
      cancelled, or completed with failures (listed); 2 still running at the deadline (or Ctrl-C).

REST: POST ${OTAO}/applications/<app>/rollouts, GET ${OTAO}/rollouts/<id>,
GET ${OTAO}/rollouts/<id>/devices?state=failed, POST ${OTAO}/rollouts/<id>/pause|resume|cancel.

${API_FLAGS_HELP}`;

const START_FLAGS = {
  ...API_FLAGS,
  'app-version': { type: 'string' },
  endpoints: { type: 'string' },
  search: { type: 'string' },
  filter: { type: 'string', multiple: true },
  'per-minute': { type: 'string' },
  'growth-factor': { type: 'string' },
  'growth-every': { type: 'string' },
  'abort-percent': { type: 'string' },
  'abort-min': { type: 'string' },
  'report-timeout': { type: 'string' },
  watch: { type: 'boolean' },
  deadline: { type: 'string' },
} as const;

const LIST_FLAGS = { ...API_FLAGS, state: { type: 'string' }, limit: { type: 'string' } } as const;
const WATCH_FLAGS = { ...API_FLAGS, deadline: { type: 'string' } } as const;
const USAGE = { usage: 'see npx tether rollout --help' };
const STATES: readonly RolloutState[] = ['running', 'paused', 'completed', 'cancelled', 'aborted'];
const ENDED: ReadonlySet<RolloutState> = new Set(['completed', 'cancelled', 'aborted']);

export const rolloutCommand: Command = {
  name: 'rollout',
  help,
  run(argv, io) {
    return runAction(
      rolloutCommand,
      { start, list, show, pause: (a, i) => change('pause', a, i), resume: (a, i) => change('resume', a, i), cancel: (a, i) => change('cancel', a, i), watch },
      argv,
      io,
    );
  },
};

const rolloutPath = (id: string) => `${OTAO}/rollouts/${encodeURIComponent(id)}`;

function positional(given: string[], names: string[], action: string): string[] {
  if (given.length < names.length || given.slice(0, names.length).some((v) => v === '')) {
    const missing = names[Math.min(given.length, names.length - 1)]!;
    throw errors.configInvalid('command line', `the ${missing} is missing; use npx tether rollout ${action} ${names.map((n) => `<${n}>`).join(' ')}`);
  }
  return given;
}

function positiveNumber(flag: string, text: string, options: { min?: number; max?: number; minIncluded?: boolean } = {}): number {
  const n = Number(text);
  const min = options.min ?? 0;
  const below = options.minIncluded ? n < min : n <= min;
  if (text.trim() === '' || !Number.isFinite(n) || below || (options.max !== undefined && n > options.max)) {
    throw errors.configInvalid(`${flag} ${JSON.stringify(text)}`, `use a number ${options.minIncluded ? `from ${min}` : `above ${min}`}${options.max !== undefined ? ` and at most ${options.max}` : ''}`);
  }
  return n;
}

type StartValues = { [K in keyof typeof START_FLAGS]?: unknown };

/** The POST body from the flags; throws what is missing or contradictory. */
export function rolloutBody(version: string, v: StartValues): Record<string, unknown> {
  const str = (k: keyof StartValues) => v[k] as string | undefined;
  const filters = (v.filter as string[] | undefined) ?? [];
  const query = str('search') !== undefined || filters.length > 0;
  const given = [str('app-version') !== undefined, str('endpoints') !== undefined, query].filter(Boolean).length;
  if (given !== 1) throw errors.configInvalid('command line', 'name the target once: --app-version <name>, --endpoints <id,id,...>, or --search <text> / --filter <expr>');
  let target: Record<string, unknown>;
  if (str('app-version') !== undefined) target = { appVersionName: str('app-version') };
  else if (str('endpoints') !== undefined) {
    const endpointIds = str('endpoints')!.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (endpointIds.length === 0) throw errors.configInvalid(`--endpoints ${JSON.stringify(str('endpoints'))}`, 'give endpoint IDs separated by commas');
    target = { endpointIds };
  } else target = { query: { ...(str('search') !== undefined && { search: str('search') }), ...(filters.length > 0 && { filter: filters }) } };
  const body: Record<string, unknown> = { version, target };
  const growthGiven = str('growth-factor') !== undefined || str('growth-every') !== undefined;
  if (str('per-minute') !== undefined) {
    const rate: Record<string, unknown> = { perMinute: positiveNumber('--per-minute', str('per-minute')!) };
    if (growthGiven) {
      if (str('growth-factor') === undefined || str('growth-every') === undefined) throw errors.configInvalid('command line', 'growth needs both --growth-factor <x> and --growth-every <n>');
      rate['growth'] = { factor: positiveNumber('--growth-factor', str('growth-factor')!, { min: 1 }), everySuccesses: parseCount('--growth-every', str('growth-every')!, 1) };
    }
    body['rate'] = rate;
  } else if (growthGiven) throw errors.configInvalid('command line', '--growth-factor and --growth-every grow a rate: add --per-minute <n>');
  const abortGiven = str('abort-percent') !== undefined || str('abort-min') !== undefined;
  if (abortGiven || str('report-timeout') !== undefined) {
    if (abortGiven && (str('abort-percent') === undefined || str('abort-min') === undefined)) throw errors.configInvalid('command line', 'the abort rule needs both --abort-percent <p> and --abort-min <n>');
    const abort: Record<string, unknown> = abortGiven
      ? { failurePercent: positiveNumber('--abort-percent', str('abort-percent')!, { max: 100, minIncluded: true }), minAttempted: parseCount('--abort-min', str('abort-min')!, 1) }
      : // A report timeout alone: a timed-out device fails, but no share of failures stops the rollout.
        { failurePercent: 100, minAttempted: 1 };
    if (str('report-timeout') !== undefined) abort['reportTimeoutSeconds'] = parseCount('--report-timeout', str('report-timeout')!, 1);
    body['abort'] = abort;
  }
  return body;
}

async function start(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, START_FLAGS, { ...USAGE, maxPositionals: 2 });
  const [app, version] = positional(given, ['application', 'version'], 'start');
  const body = rolloutBody(version!, values);
  if (values.deadline !== undefined && values.watch !== true) throw errors.configInvalid('command line', '--deadline goes with --watch');
  const deadlineS = values.deadline !== undefined ? parseCount('--deadline', values.deadline, 1) : DEFAULT_DEADLINE_S;
  const client = await createApiClient(values, io);
  const rollout = await client.request<RolloutView>('POST', `${OTAO}/applications/${encodeURIComponent(app!)}/rollouts`, body);
  if (values.json === true && values.watch !== true) {
    io.out(json(rollout));
    return 0;
  }
  if (values.json !== true) {
    io.out(`Rollout ${rollout.rolloutId} of ${rollout.applicationName} ${rollout.version} started (${total(rollout.counts)} devices targeted).`);
    if (values.watch !== true) io.out(`Follow it with: npx tether rollout watch ${rollout.rolloutId}`);
  }
  if (values.watch !== true) return 0;
  return follow(client, rollout.rolloutId, deadlineS, values.json === true, io);
}

async function list(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, LIST_FLAGS, { ...USAGE, maxPositionals: 1 });
  const [app] = positional(given, ['application'], 'list');
  const query = new URLSearchParams();
  if (values.state !== undefined) {
    if (!STATES.includes(values.state as RolloutState)) throw errors.configInvalid(`--state ${JSON.stringify(values.state)}`, `use ${STATES.join(', ')}`);
    query.set('state', values.state);
  }
  query.set('limit', String(values.limit !== undefined ? parseCount('--limit', values.limit, 1) : 50));
  const client = await createApiClient(values, io);
  const page = await client.request<{ content: RolloutView[]; totalElements: number }>('GET', `${OTAO}/applications/${encodeURIComponent(app!)}/rollouts?${query.toString()}`);
  if (values.json === true) {
    io.out(json(page));
    return 0;
  }
  if (page.content.length === 0) {
    io.out(`No rollouts of ${app}${values.state !== undefined ? ` in state ${values.state}` : ''}. Start one with: npx tether rollout start ${app} <version> --app-version <name>`);
    return 0;
  }
  const rows = page.content.map((r) => [r.rolloutId, r.version, r.state, progressOf(r.counts), r.createdAt, r.reason ?? '']);
  for (const line of table(['ID', 'VERSION', 'STATE', 'PROGRESS', 'CREATED', 'REASON'], rows)) io.out(line);
  if (page.totalElements > page.content.length) io.out(`${page.content.length} shown of ${page.totalElements}.`);
  return 0;
}

const total = (c: Counts) => c.pending + c.offered + c.applied + c.failed + c.timed_out + c.skipped;

export function progressOf(c: Counts): string {
  return `${c.applied} applied, ${c.failed} failed, ${c.timed_out} timed out, ${c.offered} offered, ${c.pending} pending${c.skipped > 0 ? `, ${c.skipped} skipped` : ''} of ${total(c)}`;
}

async function show(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const [id] = positional(given, ['rolloutId'], 'show');
  const client = await createApiClient(values, io);
  const rollout = await client.request<RolloutView>('GET', rolloutPath(id!));
  const failures = await failed(client, id!);
  if (values.json === true) {
    io.out(json({ ...rollout, failures }));
    return 0;
  }
  io.out(`Rollout ${rollout.rolloutId}: ${rollout.applicationName} ${rollout.version}, ${rollout.state}${rollout.reason ? ` (${rollout.reason})` : ''}`);
  io.out(`  Target:  ${describeTarget(rollout.target)}`);
  io.out(`  Rate:    ${rollout.rate ? `${rollout.rate.perMinute}/min${rollout.rate.growth ? `, ×${rollout.rate.growth.factor} every ${rollout.rate.growth.everySuccesses} successes` : ''}` : 'everyone at once'}`);
  io.out(`  Abort:   ${rollout.abort ? `over ${rollout.abort.failurePercent} % failed of at least ${rollout.abort.minAttempted}${rollout.abort.reportTimeoutSeconds ? `; no report in ${rollout.abort.reportTimeoutSeconds} s fails` : ''}` : 'never'}`);
  io.out(`  Devices: ${progressOf(rollout.counts)}`);
  io.out(`  Created: ${rollout.createdAt}`);
  io.out(`  Updated: ${rollout.updatedAt}`);
  printFailures(failures, rollout.counts, io);
  return 0;
}

function describeTarget(target: unknown): string {
  const t = (target ?? {}) as { appVersionName?: string; endpointIds?: string[]; query?: { search?: string; filter?: string[] } };
  if (t.appVersionName !== undefined) return `application version ${t.appVersionName}`;
  if (t.endpointIds !== undefined) return `${t.endpointIds.length} endpoint${t.endpointIds.length === 1 ? '' : 's'}`;
  if (t.query !== undefined) return `endpoints matching ${JSON.stringify(t.query)}`;
  return JSON.stringify(target);
}

async function failed(client: ApiClient, id: string): Promise<DeviceView[]> {
  const [failedPage, timedOut] = await Promise.all(
    (['failed', 'timed_out'] as const).map((state) => client.request<{ content: DeviceView[] }>('GET', `${rolloutPath(id)}/devices?state=${state}&limit=20`)),
  );
  return [...failedPage!.content, ...timedOut!.content];
}

function printFailures(failures: DeviceView[], counts: Counts, io: Io): void {
  if (failures.length === 0) return;
  io.out('Failed devices:');
  for (const d of failures) io.out(`  ${d.endpointId}: ${d.state === 'timed_out' ? 'timed out' : 'failed'}${d.reason ? `: ${d.reason}` : ''}`);
  const more = counts.failed + counts.timed_out - failures.length;
  if (more > 0) io.out(`  … and ${more} more`);
}

async function change(action: 'pause' | 'resume' | 'cancel', argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const [id] = positional(given, ['rolloutId'], action);
  const client = await createApiClient(values, io);
  const rollout = await client.request<RolloutView>('POST', `${rolloutPath(id!)}/${action}`);
  if (values.json === true) io.out(json(rollout));
  else io.out(`Rollout ${rollout.rolloutId}: ${rollout.state}. ${progressOf(rollout.counts)}.`);
  return 0;
}

async function watch(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, WATCH_FLAGS, { ...USAGE, maxPositionals: 1 });
  const [id] = positional(given, ['rolloutId'], 'watch');
  const deadlineS = values.deadline !== undefined ? parseCount('--deadline', values.deadline, 1) : DEFAULT_DEADLINE_S;
  const client = await createApiClient(values, io);
  return follow(client, id!, deadlineS, values.json === true, io);
}

/** Prints a line whenever the state or counts change, until the rollout ends or the deadline passes. */
async function follow(client: ApiClient, id: string, deadlineS: number, asJson: boolean, io: Io): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  const deadline = Date.now() + deadlineS * 1000;
  try {
    let last = '';
    for (;;) {
      const r = await client.request<RolloutView>('GET', rolloutPath(id));
      const line = `${r.state}: ${progressOf(r.counts)}`;
      if (line !== last) {
        if (asJson) io.out(JSON.stringify({ rolloutId: r.rolloutId, state: r.state, reason: r.reason, counts: r.counts }));
        else io.out(`${new Date().toISOString()}  ${line}`);
        last = line;
      }
      if (ENDED.has(r.state)) return await outcome(client, r, asJson, io);
      if (stop.signal.aborted || Date.now() >= deadline) {
        if (!asJson) io.out(`${stop.signal.aborted ? 'Stopped watching' : `Still ${r.state} after ${deadlineS} s`}; the rollout goes on (npx tether rollout show ${id}).`);
        return EXIT.running;
      }
      await sleepUnlessAborted(Math.min(WATCH_EVERY_MS, Math.max(0, deadline - Date.now())), stop.signal);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

async function outcome(client: ApiClient, r: RolloutView, asJson: boolean, io: Io): Promise<number> {
  const failures = r.counts.failed + r.counts.timed_out;
  if (!asJson) {
    // The reason usually starts with the state ("aborted: 31 of 100 devices failed …").
    io.out(`Rollout ${r.reason ? (r.reason.startsWith(r.state) ? r.reason : `${r.state}: ${r.reason}`) : r.state}.`);
    if (failures > 0) printFailures(await failed(client, r.rolloutId), r.counts, io);
  }
  return r.state === 'completed' && failures === 0 ? EXIT.completed : EXIT.failed;
}
