/**
 * `tether software`: software versions (Kaa OTAO) and their packages through the REST API of a
 * running Tether, on Kaa's OTAO paths (`/otao/api/v1`), so a Kaa REST client does the same.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags } from '../../config/flags.js';
import { errors } from '../../core/errors.js';
import type { PackageInfo, RolloutStrategy, SoftwareFilter, SoftwareRecord } from '../../core/software.js';
import { API_FLAGS, API_FLAGS_HELP, createApiClient } from '../api-client.js';
import type { Command } from '../command.js';
import { runAction } from '../command.js';
import { json, table } from '../format.js';
import type { Io } from '../io.js';
import { startProgress } from '../progress.js';

export const OTAO = '/otao/api/v1';
const STRATEGIES: readonly RolloutStrategy[] = ['suspended', 'targeted', 'general'];

const help = `Usage: npx tether software <list|show|create|update|delete|upload> <application> [<version>] [options]

Software versions of an application's devices (Kaa OTAO), delivered over 7/CMP on the extension
instance cmx_ota: a device reports the version it runs on kp1/<app-version>/cmx_ota/<token>/applied/json
and is offered the next one on …/cmx_ota/<token>/config/json/status (try: npx tether device --ota).

  npx tether software list   <application>
      Every version, newest first: strategy, what it upgrades, its package.
  npx tether software show   <application> <version>
  npx tether software create <application> <version> [--upgradable-from <v,v,...>] [--spec '<json>' | --spec-file <path>]
                             [--metadata '<json>'] [--strategy suspended|targeted|general] [--filter <filterId>[@<date>]]...
      A new version (semver, e.g. 1.2.0). --upgradable-from: the versions or semver ranges it
      upgrades (1.1.0, 1.x, ">=1.0.0 <2", * any, "" devices that never reported one); default *.
      --spec: the JSON document the device gets as 7/CMP \`config\` (default {}); a package uploaded
      for the version adds \`package: {url, sha256, size, fileName}\` to it.
      --strategy: who gets it without a rollout, when devices ask: suspended (nobody; the
      default), general (every device it upgrades), targeted (devices a --filter matches, from
      its date, e.g. --filter beta@2026-12-24T00:00:00Z). A filter selects the endpoints of an
      Endpoint List search given as JSON: --filter '{"filterId": "beta", "rolloutDate": null,
      "query": {"filter": ["ring=beta"]}}' (search, filter, connected, applicationVersionName, as
      in GET /epr/api/v1/endpoints); without a query, every endpoint of the application.
      Rollouts offer a version whatever its strategy: npx tether rollout start.
  npx tether software update <application> <version> [the options of create]
      Changes what is given and keeps the rest.
  npx tether software delete <application> <version>
  npx tether software upload <application> <version> <file> [--file-name <name>] [--content-type <type>]
      Uploads the version's package (streamed; the server computes its SHA-256 and refuses one
      over its size limit, TETHER_PACKAGE_MAX_MB). Devices download it with their token or a
      signed URL, resuming with Range on a broken link.

Kaa's REST equivalents: GET|POST ${OTAO}/applications/<app>/software, GET|PUT|DELETE
${OTAO}/applications/<app>/software/<version>, PUT …/software/<version>/package.

${API_FLAGS_HELP}`;

const EDIT_FLAGS = {
  ...API_FLAGS,
  'upgradable-from': { type: 'string' },
  spec: { type: 'string' },
  'spec-file': { type: 'string' },
  metadata: { type: 'string' },
  strategy: { type: 'string' },
  filter: { type: 'string', multiple: true },
} as const;

const UPLOAD_FLAGS = { ...API_FLAGS, 'file-name': { type: 'string' }, 'content-type': { type: 'string' } } as const;
const USAGE = { usage: 'see npx tether software --help' };

export const softwareCommand: Command = {
  name: 'software',
  help,
  run(argv, io) {
    return runAction(softwareCommand, { list, show, create, update, delete: remove, upload }, argv, io);
  },
};

/** The positional arguments an action needs, with the usage line when one is missing. */
function positionals(given: string[], names: string[], action: string): string[] {
  if (given.length < names.length || given.slice(0, names.length).some((v) => v === '')) {
    const missing = names[Math.min(given.length, names.length - 1)]!;
    throw errors.configInvalid('command line', `the ${missing} is missing; use npx tether software ${action} ${names.map((n) => `<${n}>`).join(' ')}`);
  }
  return given;
}

export const softwarePath = (app: string, version?: string) =>
  `${OTAO}/applications/${encodeURIComponent(app)}/software${version !== undefined ? `/${encodeURIComponent(version)}` : ''}`;

async function list(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 1 });
  const [app] = positionals(given, ['application'], 'list');
  const client = await createApiClient(values, io);
  const versions = await client.request<SoftwareRecord[]>('GET', softwarePath(app!));
  if (values.json === true) {
    io.out(json(versions));
    return 0;
  }
  if (versions.length === 0) {
    io.out(`No software versions of ${app} yet. Create one with: npx tether software create ${app} 1.0.0`);
    return 0;
  }
  const rows = versions.map((s) => [s.version, s.rolloutStrategy, s.upgradableFrom.map(showRange).join(', ') || '-', s.package ? `${s.package.fileName} (${formatBytes(s.package.size)})` : '-', s.updatedDate]);
  for (const line of table(['VERSION', 'STRATEGY', 'UPGRADES', 'PACKAGE', 'UPDATED'], rows)) io.out(line);
  return 0;
}

async function show(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 2 });
  const [app, version] = positionals(given, ['application', 'version'], 'show');
  const client = await createApiClient(values, io);
  const record = await client.request<SoftwareRecord>('GET', softwarePath(app!, version!));
  if (values.json === true) io.out(json(record));
  else printRecord(record, io);
  return 0;
}

function printRecord(s: SoftwareRecord, io: Io): void {
  io.out(`Software ${s.applicationName} ${s.version}`);
  io.out(`  Strategy:        ${s.rolloutStrategy}`);
  io.out(`  Upgradable from: ${s.upgradableFrom.map(showRange).join(', ') || '(nothing)'}`);
  if (s.filters.length > 0) io.out(`  Filters:         ${s.filters.map((f) => (f.rolloutDate ? `${f.filterId} from ${f.rolloutDate}` : f.filterId)).join(', ')}`);
  io.out(`  Package:         ${s.package ? describePackage(s.package) : '(none; upload one with npx tether software upload)'}`);
  io.out(`  Created:         ${s.createdDate}`);
  io.out(`  Updated:         ${s.updatedDate}`);
  io.out('  Specification:');
  io.out(json(s.specification));
  if (s.metadata !== null && !(typeof s.metadata === 'object' && Object.keys(s.metadata).length === 0)) {
    io.out('  Metadata:');
    io.out(json(s.metadata));
  }
}

/** `""` (devices that never reported a version) shown so that it is visible. */
const showRange = (range: string) => (range === '' ? '(none reported)' : range);

function describePackage(p: PackageInfo): string {
  return `${p.fileName}, ${formatBytes(p.size)}, sha256 ${p.sha256}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

type EditValues = {
  'upgradable-from'?: string | undefined;
  spec?: string | undefined;
  'spec-file'?: string | undefined;
  metadata?: string | undefined;
  strategy?: string | undefined;
  filter?: unknown;
};

interface SoftwareInput {
  upgradableFrom?: string[];
  specification?: unknown;
  metadata?: unknown;
  rolloutStrategy?: RolloutStrategy;
  filters?: SoftwareFilter[];
}

/** Only what the flags give: `update` merges it into the stored record. */
async function readInput(values: EditValues, io: Io): Promise<SoftwareInput> {
  const input: SoftwareInput = {};
  if (values['upgradable-from'] !== undefined) {
    const text = values['upgradable-from'];
    // `""` alone: only devices that never reported a version.
    input.upgradableFrom = text === '' ? [''] : text.split(',').map((s) => s.trim());
  }
  if (values.spec !== undefined && values['spec-file'] !== undefined) throw errors.configInvalid('command line', 'give the specification once: --spec \'<json>\' or --spec-file <path>');
  if (values.spec !== undefined) input.specification = parseJsonFlag('--spec', values.spec);
  if (values['spec-file'] !== undefined) {
    const flag = `--spec-file ${JSON.stringify(values['spec-file'])}`;
    let text: string;
    try {
      text = values['spec-file'] === '-' && io.readStdin ? await io.readStdin() : await readFile(path.resolve(io.cwd, values['spec-file']), 'utf8');
    } catch (err) {
      throw errors.configInvalid(flag, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    input.specification = parseJsonFlag(flag, text);
  }
  if (values.metadata !== undefined) input.metadata = parseJsonFlag('--metadata', values.metadata);
  if (values.strategy !== undefined) {
    if (!STRATEGIES.includes(values.strategy as RolloutStrategy)) throw errors.configInvalid(`--strategy ${JSON.stringify(values.strategy)}`, `use ${STRATEGIES.join(', ')}`);
    input.rolloutStrategy = values.strategy as RolloutStrategy;
  }
  const filters = (values.filter as string[] | undefined) ?? [];
  if (filters.length > 0) input.filters = filters.map(parseFilter);
  return input;
}

function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.configInvalid(flag, `it is not JSON (${(err as Error).message}); e.g. '{"url": "…", "notes": "fixes"}'`);
  }
}

/** `<filterId>[@<ISO date>]`, or the filter as JSON (with the Endpoint List query it selects). */
function parseFilter(text: string): SoftwareFilter {
  if (text.trim().startsWith('{')) {
    const value = parseJsonFlag(`--filter`, text) as Partial<SoftwareFilter>;
    if (typeof value !== 'object' || value === null || typeof value.filterId !== 'string' || value.filterId === '') {
      throw errors.configInvalid(`--filter ${JSON.stringify(text)}`, 'a JSON filter needs a filterId, e.g. \'{"filterId": "beta", "query": {"filter": ["ring=beta"]}}\'');
    }
    return { ...value, filterId: value.filterId, rolloutDate: value.rolloutDate ?? null } as SoftwareFilter;
  }
  const at = text.indexOf('@');
  const filterId = at === -1 ? text : text.slice(0, at);
  const date = at === -1 ? null : text.slice(at + 1);
  if (filterId === '') throw errors.configInvalid(`--filter ${JSON.stringify(text)}`, 'use <filterId>[@<date>], e.g. beta@2026-12-24T00:00:00Z');
  if (date !== null && Number.isNaN(Date.parse(date))) throw errors.configInvalid(`--filter ${JSON.stringify(text)}`, 'the date after @ is not a date; use e.g. 2026-12-24T00:00:00Z');
  return { filterId, rolloutDate: date === null ? null : new Date(date).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

async function create(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, EDIT_FLAGS, { ...USAGE, maxPositionals: 2 });
  const [app, version] = positionals(given, ['application', 'version'], 'create');
  const input = await readInput(values, io);
  const client = await createApiClient(values, io);
  const body = { version, upgradableFrom: input.upgradableFrom ?? ['*'], specification: input.specification ?? {}, ...withoutUndefined({ metadata: input.metadata, rolloutStrategy: input.rolloutStrategy, filters: input.filters }) };
  const record = await client.request<SoftwareRecord>('POST', softwarePath(app!), body);
  if (values.json === true) io.out(json(record));
  else {
    io.out(`Software version created: ${record.applicationName} ${record.version} (${record.rolloutStrategy}).`);
    io.out(`Upload its package with: npx tether software upload ${app} ${version} <file>`);
    io.out(`Roll it out with:        npx tether rollout start ${app} ${version} --app-version <name>`);
  }
  return 0;
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function update(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, EDIT_FLAGS, { ...USAGE, maxPositionals: 2 });
  const [app, version] = positionals(given, ['application', 'version'], 'update');
  const input = await readInput(values, io);
  if (Object.keys(input).length === 0) throw errors.configInvalid('command line', 'nothing to change; give --upgradable-from, --spec, --spec-file, --metadata, --strategy or --filter');
  const client = await createApiClient(values, io);
  // PUT replaces the record: what is not given stays as stored.
  const current = await client.request<SoftwareRecord>('GET', softwarePath(app!, version!));
  const body = {
    upgradableFrom: input.upgradableFrom ?? current.upgradableFrom,
    specification: input.specification ?? current.specification,
    metadata: input.metadata ?? current.metadata,
    rolloutStrategy: input.rolloutStrategy ?? current.rolloutStrategy,
    filters: input.filters ?? current.filters,
  };
  const record = await client.request<SoftwareRecord>('PUT', softwarePath(app!, version!), body);
  if (values.json === true) io.out(json(record));
  else io.out(`Software version updated: ${record.applicationName} ${record.version} (${record.rolloutStrategy}).`);
  return 0;
}

async function remove(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, API_FLAGS, { ...USAGE, maxPositionals: 2 });
  const [app, version] = positionals(given, ['application', 'version'], 'delete');
  const client = await createApiClient(values, io);
  await client.request('DELETE', softwarePath(app!, version!));
  if (values.json === true) io.out(json({ deleted: true }));
  else io.out(`Software version deleted: ${app} ${version}.`);
  return 0;
}

async function upload(argv: string[], io: Io): Promise<number> {
  const { values, positionals: given } = parseFlags(argv, UPLOAD_FLAGS, { ...USAGE, maxPositionals: 3 });
  const [app, version, file] = positionals(given, ['application', 'version', 'file'], 'upload');
  const filePath = path.resolve(io.cwd, file!);
  let size: number;
  try {
    const info = await stat(filePath);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
    size = info.size;
  } catch (err) {
    throw errors.configInvalid(`file ${JSON.stringify(file)}`, `it cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give the path of the package file`);
  }
  const client = await createApiClient(values, io);
  const fileName = values['file-name'] ?? path.basename(filePath);
  const progress = startProgress(`Uploading ${fileName}`, { total: size });
  let sent = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(filePath, { highWaterMark: 256 * 1024 })) {
      sent += (chunk as Buffer).length;
      progress.update(sent);
      yield chunk as Buffer;
    }
  }
  let info: PackageInfo;
  try {
    info = await client.stream<PackageInfo>('PUT', `${softwarePath(app!, version!)}/package`, counted(), {
      'content-type': values['content-type'] ?? 'application/octet-stream',
      'content-length': String(size),
      // A header carries Latin-1 only: other names travel percent-encoded.
      'x-file-name': /^[\x20-\x7e]*$/.test(fileName) ? fileName : encodeURIComponent(fileName),
    });
  } finally {
    progress.finish(`Uploaded ${formatBytes(sent)}`);
  }
  if (values.json === true) io.out(json(info));
  else {
    io.out(`Package uploaded for ${app} ${version}: ${info.fileName}, ${formatBytes(info.size)}`);
    io.out(`  SHA-256: ${info.sha256}`);
    io.out('Devices offered this version get its URL, size and SHA-256 in the specification\'s "package".');
  }
  return 0;
}
