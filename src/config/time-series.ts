/**
 * The config file's time series sections: Kaa's blueprint block, verbatim (`kaa.applications.<app>.
 * time-series` and `…versions.<version>.extraction`, kebab-case keys as in Kaa's EPTS docs and the
 * data collection tutorial), and Tether's own `timeSeries` (retention). Checked as strictly as the
 * rest of the file: an unknown key or application is an error with the nearest known name, because a
 * typo here (`demo_aplication:`, `extract_all`) would otherwise start a server that silently ignores it.
 */
import type { AppDefinitions } from '../time-series/definitions.js';
import { MAX_RETENTION_DAYS, normaliseDefinitions, parseFallback, parseFormat } from '../time-series/definitions.js';
import { didYouMean } from '../core/did-you-mean.js';
import { Invalid } from './values.js';

export interface TimeSeriesConfig {
  /** Retention of applications without their own (default 90 days). */
  retentionDays?: number;
  /** `timeSeries.applications.<app>.retentionDays`. */
  retentionByApp: Record<string, number>;
  /** `timeSeries.maxSeriesPerEndpoint` (default 1,000). */
  maxSeriesPerEndpoint?: number;
  /** From the Kaa block: replace the stored definitions of these applications at start. */
  declared: AppDefinitions[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalid = (problem: string) => new Invalid(problem);

function onlyKeys(where: string, value: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    throw new Invalid(`${where} has unknown key "${unknown}"${didYouMean(unknown, allowed)}; allowed: ${allowed.join(', ')}`);
  }
}

function days(where: string, raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_RETENTION_DAYS) {
    throw new Invalid(`${where} must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`);
  }
  return raw;
}

/** Kaa's `time-series:` list item to the REST form. */
function series(where: string, raw: unknown): Record<string, unknown> {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with name, value-field and tag-fields`);
  onlyKeys(where, raw, ['name', 'value-field', 'tag-fields']);
  const tags = raw['tag-fields'] ?? [];
  if (!Array.isArray(tags)) throw new Invalid(`${where}.tag-fields must be a list of {name, required}`);
  return {
    name: raw['name'],
    valueField: raw['value-field'],
    tagFields: tags.map((tag, i) => {
      // A bare name is an optional tag.
      if (typeof tag === 'string') return { name: tag, required: false };
      if (!isRecord(tag)) throw new Invalid(`${where}.tag-fields[${i}] must be a mapping with name and required`);
      onlyKeys(`${where}.tag-fields[${i}]`, tag, ['name', 'required', 'path']);
      return { name: tag['name'], required: tag['required'] ?? false, ...(tag['path'] !== undefined && { path: tag['path'] }) };
    }),
  };
}

function extraction(where: string, raw: unknown): Record<string, unknown> {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with timestamp and extract-all`);
  onlyKeys(where, raw, ['timestamp', 'extract-all']);
  const result: Record<string, unknown> = { extractAll: raw['extract-all'] ?? false };
  const ts = raw['timestamp'];
  if (ts !== undefined && ts !== null) {
    if (!isRecord(ts)) throw new Invalid(`${where}.timestamp must be a mapping with path, format and fallback-strategy`);
    onlyKeys(`${where}.timestamp`, ts, ['path', 'format', 'fallback-strategy']);
    result['timestamp'] = {
      path: ts['path'],
      format: parseFormat(`${where}.timestamp.format`, ts['format'] ?? 'millis-unix-epoch', invalid),
      fallbackStrategy: parseFallback(`${where}.timestamp.fallback-strategy`, ts['fallback-strategy'] ?? 'server-timestamp', invalid),
    };
  }
  return result;
}

/**
 * `applications`: the applications and their versions the server will have (the defaults plus the
 * file's `applications:`); when given, `kaa.applications` and `timeSeries.applications` may name
 * only these.
 */
export function parseTimeSeriesConfig(kaa: unknown, timeSeries: unknown, applications?: ReadonlyArray<{ name: string; versions: ReadonlyArray<{ name: string }> }>): TimeSeriesConfig {
  const knownApp = (where: string, app: string): void => {
    if (applications === undefined || applications.some((a) => a.name === app)) return;
    const names = applications.map((a) => a.name);
    throw new Invalid(`${where} names application "${app}", which does not exist${didYouMean(app, names)}; applications: ${names.join(', ')} (declare new ones under applications:)`);
  };
  const knownVersion = (where: string, app: string, version: string): void => {
    const versions = applications?.find((a) => a.name === app)?.versions.map((v) => v.name);
    if (versions === undefined || versions.includes(version)) return;
    throw new Invalid(`${where} names version "${version}", which application "${app}" does not have${didYouMean(version, versions)}; its versions: ${versions.join(', ') || 'none'}`);
  };
  const config: TimeSeriesConfig = { retentionByApp: {}, declared: [] };
  if (timeSeries !== undefined && timeSeries !== null) {
    if (!isRecord(timeSeries)) throw new Invalid('timeSeries must be a mapping with retentionDays, maxSeriesPerEndpoint and applications');
    onlyKeys('timeSeries', timeSeries, ['retentionDays', 'maxSeriesPerEndpoint', 'applications']);
    if (timeSeries['retentionDays'] !== undefined) config.retentionDays = days('timeSeries.retentionDays', timeSeries['retentionDays']);
    const maxSeries = timeSeries['maxSeriesPerEndpoint'];
    if (maxSeries !== undefined) {
      if (typeof maxSeries !== 'number' || !Number.isInteger(maxSeries) || maxSeries < 1 || maxSeries > 1_000_000) {
        throw new Invalid('timeSeries.maxSeriesPerEndpoint must be a whole number from 1 to 1000000');
      }
      config.maxSeriesPerEndpoint = maxSeries;
    }
    const apps = timeSeries['applications'] ?? {};
    if (!isRecord(apps)) throw new Invalid('timeSeries.applications must map application names to { retentionDays }');
    for (const [app, settings] of Object.entries(apps)) {
      knownApp('timeSeries.applications', app);
      if (!isRecord(settings)) throw new Invalid(`timeSeries.applications.${app} must be a mapping with retentionDays`);
      onlyKeys(`timeSeries.applications.${app}`, settings, ['retentionDays']);
      config.retentionByApp[app] = days(`timeSeries.applications.${app}.retentionDays`, settings['retentionDays']);
    }
  }
  if (kaa === undefined || kaa === null) return config;
  if (!isRecord(kaa)) throw new Invalid('kaa must be a mapping (Kaa blueprint: kaa.applications.<app>.time-series)');
  onlyKeys('kaa', kaa, ['applications']);
  const apps = kaa['applications'] ?? {};
  if (!isRecord(apps)) throw new Invalid('kaa.applications must map application names to their settings');
  for (const [app, settings] of Object.entries(apps)) {
    const where = `kaa.applications.${app}`;
    knownApp('kaa.applications', app);
    if (settings === null || settings === undefined) continue;
    if (!isRecord(settings)) throw new Invalid(`${where} must be a mapping`);
    onlyKeys(where, settings, ['time-series', 'versions']);
    const list = settings['time-series'] ?? [];
    if (!Array.isArray(list)) throw new Invalid(`${where}.time-series must be a list of {name, value-field, tag-fields}`);
    const versions: Record<string, unknown> = {};
    const rawVersions = settings['versions'] ?? {};
    if (!isRecord(rawVersions)) throw new Invalid(`${where}.versions must map version names to their settings`);
    for (const [version, v] of Object.entries(rawVersions)) {
      knownVersion(`${where}.versions`, app, version);
      if (v === null || v === undefined) continue;
      if (!isRecord(v)) throw new Invalid(`${where}.versions.${version} must be a mapping with extraction`);
      onlyKeys(`${where}.versions.${version}`, v, ['extraction']);
      if (v['extraction'] !== undefined) versions[version] = extraction(`${where}.versions.${version}.extraction`, v['extraction']);
    }
    if (settings['time-series'] === undefined && Object.keys(versions).length === 0) continue;
    const doc = {
      timeSeries: list.map((item, i) => series(`${where}.time-series[${i}]`, item)),
      versions,
      ...(config.retentionByApp[app] !== undefined
        ? { retentionDays: config.retentionByApp[app] }
        : config.retentionDays !== undefined ? { retentionDays: config.retentionDays } : {}),
    };
    config.declared.push(normaliseDefinitions(app, doc, (problem) => new Invalid(`${where}: ${problem.replace(/valueField/g, 'value-field').replace(/tagFields/g, 'tag-fields')}`)));
  }
  return config;
}
