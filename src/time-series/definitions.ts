/**
 * Time series definitions (Kaa EPTS): per application the named series, per application version how
 * a data sample's timestamp is found and whether every field is extracted. The REST form is
 * camelCase; the config file takes Kaa's kebab-case blueprint keys (config/time-series.ts).
 */
import { errors } from '../core/errors.js';

export const TIMESTAMP_FORMATS = ['millis-unix-epoch', 'seconds-unix-epoch', 'iso-8601'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];
export const FALLBACK_STRATEGIES = ['server-timestamp', 'skip'] as const;
export type FallbackStrategy = (typeof FALLBACK_STRATEGIES)[number];

export const AUTO_PREFIX = 'auto~';
export const DEFAULT_RETENTION_DAYS = 90;
export const MAX_RETENTION_DAYS = 36_500;
/** Series names: what Kaa allows in practice, without separators our REST lists use. */
export const SERIES_NAME_PATTERN = /^[A-Za-z0-9_.~-]{1,128}$/;

export interface TagField {
  name: string;
  /** JSON path in the sample; default: the tag's name. */
  path?: string;
  required: boolean;
}

export interface SeriesDefinition {
  name: string;
  /** JSON path of the value; the data point calls it `value`. */
  valueField: string;
  tagFields: TagField[];
}

export interface Extraction {
  timestamp: {
    /** Absent: every sample takes the receipt time. */
    path?: string;
    format: TimestampFormat;
    fallbackStrategy: FallbackStrategy;
  };
  extractAll: boolean;
}

export interface AppDefinitions {
  applicationName: string;
  retentionDays: number;
  timeSeries: SeriesDefinition[];
  versions: Record<string, Extraction>;
}

/** What a version without rules gets: a first device on a fresh Tether shows data unconfigured. */
export function defaultExtraction(): Extraction {
  return { timestamp: { path: '$.timestamp', format: 'millis-unix-epoch', fallbackStrategy: 'server-timestamp' }, extractAll: true };
}

export function emptyDefinitions(applicationName: string, retentionDays = DEFAULT_RETENTION_DAYS): AppDefinitions {
  return { applicationName, retentionDays, timeSeries: [], versions: {} };
}

/** Value names of a defined series as EPTS's config endpoint lists them. */
export function valueNamesOf(def: SeriesDefinition): string[] {
  return ['value', ...def.tagFields.map((t) => t.name)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a definitions document (REST body or stored) and returns it normalised. `invalid` builds
 * the error for a problem (REST: VALIDATION_FAILED; config: CONFIG_INVALID).
 */
export function normaliseDefinitions(
  applicationName: string,
  raw: unknown,
  invalid: (problem: string) => Error = (problem) => errors.validation(problem),
): AppDefinitions {
  if (!isRecord(raw)) throw invalid('the body must be an object with timeSeries, versions and retentionDays');
  const retentionDays = raw['retentionDays'] ?? DEFAULT_RETENTION_DAYS;
  if (typeof retentionDays !== 'number' || !Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > MAX_RETENTION_DAYS) {
    throw invalid(`retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`);
  }
  const list = raw['timeSeries'] ?? [];
  if (!Array.isArray(list)) throw invalid('timeSeries must be a list of {name, valueField, tagFields}');
  const names = new Set<string>();
  const timeSeries = list.map((item, i): SeriesDefinition => {
    const where = `timeSeries[${i}]`;
    if (!isRecord(item)) throw invalid(`${where} must be an object with name, valueField and tagFields`);
    const name = item['name'];
    if (typeof name !== 'string' || !SERIES_NAME_PATTERN.test(name)) throw invalid(`${where}.name must be 1-128 characters from A-Z a-z 0-9 _ . ~ -`);
    if (name.startsWith(AUTO_PREFIX)) throw invalid(`${where}.name ${JSON.stringify(name)} starts with "${AUTO_PREFIX}", which is kept for extract-all series`);
    if (names.has(name)) throw invalid(`time series ${JSON.stringify(name)} is defined twice`);
    names.add(name);
    const valueField = item['valueField'];
    if (typeof valueField !== 'string' || valueField.length === 0) throw invalid(`${where}.valueField must be the JSON path of the value, e.g. "temperature"`);
    const tags = item['tagFields'] ?? [];
    if (!Array.isArray(tags)) throw invalid(`${where}.tagFields must be a list of {name, required}`);
    const tagNames = new Set<string>(['value']);
    const tagFields = tags.map((tag, j): TagField => {
      const at = `${where}.tagFields[${j}]`;
      if (!isRecord(tag)) throw invalid(`${at} must be an object with name and required`);
      const tagName = tag['name'];
      if (typeof tagName !== 'string' || !SERIES_NAME_PATTERN.test(tagName)) throw invalid(`${at}.name must be 1-128 characters from A-Z a-z 0-9 _ . ~ -`);
      if (tagNames.has(tagName)) throw invalid(`${at}.name ${JSON.stringify(tagName)} is used twice (or is "value")`);
      tagNames.add(tagName);
      const required = tag['required'] ?? false;
      if (typeof required !== 'boolean') throw invalid(`${at}.required must be true or false`);
      const field: TagField = { name: tagName, required };
      if (tag['path'] !== undefined) {
        if (typeof tag['path'] !== 'string' || tag['path'].length === 0) throw invalid(`${at}.path must be a JSON path`);
        field.path = tag['path'];
      }
      return field;
    });
    return { name, valueField, tagFields };
  });
  const rawVersions = raw['versions'] ?? {};
  if (!isRecord(rawVersions)) throw invalid('versions must map application version names to extraction rules');
  const versions: Record<string, Extraction> = {};
  for (const [version, rules] of Object.entries(rawVersions)) {
    versions[version] = normaliseExtraction(`versions.${version}`, rules, invalid);
  }
  return { applicationName, retentionDays, timeSeries, versions };
}

function normaliseExtraction(where: string, raw: unknown, invalid: (problem: string) => Error): Extraction {
  if (!isRecord(raw)) throw invalid(`${where} must be an object with timestamp and extractAll`);
  const base = defaultExtraction();
  const extractAll = raw['extractAll'] ?? false;
  if (typeof extractAll !== 'boolean') throw invalid(`${where}.extractAll must be true or false`);
  const ts = raw['timestamp'];
  if (ts === undefined || ts === null) return { timestamp: { format: base.timestamp.format, fallbackStrategy: 'server-timestamp' }, extractAll };
  if (!isRecord(ts)) throw invalid(`${where}.timestamp must be an object with path, format and fallbackStrategy`);
  const timestamp: Extraction['timestamp'] = {
    format: parseFormat(`${where}.timestamp.format`, ts['format'] ?? base.timestamp.format, invalid),
    fallbackStrategy: parseFallback(`${where}.timestamp.fallbackStrategy`, ts['fallbackStrategy'] ?? 'server-timestamp', invalid),
  };
  if (ts['path'] !== undefined && ts['path'] !== null) {
    if (typeof ts['path'] !== 'string' || ts['path'].length === 0) throw invalid(`${where}.timestamp.path must be a JSON path, e.g. "$.timestamp"`);
    timestamp.path = ts['path'];
  }
  return { timestamp, extractAll };
}

export function parseFormat(where: string, raw: unknown, invalid: (problem: string) => Error): TimestampFormat {
  const value = typeof raw === 'string' ? raw.toLowerCase() : raw;
  const found = TIMESTAMP_FORMATS.find((f) => f === value);
  if (!found) throw invalid(`${where} must be one of ${TIMESTAMP_FORMATS.join(', ')}`);
  return found;
}

export function parseFallback(where: string, raw: unknown, invalid: (problem: string) => Error): FallbackStrategy {
  const found = FALLBACK_STRATEGIES.find((f) => f === raw);
  if (!found) throw invalid(`${where} must be one of ${FALLBACK_STRATEGIES.join(', ')}`);
  return found;
}
