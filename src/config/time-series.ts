/**
 * The config file's time series sections: Kaa's blueprint block, verbatim (`kaa.applications.<app>.
 * time-series` and `…versions.<version>.extraction`, kebab-case keys as in Kaa's EPTS docs and the
 * data collection tutorial), and Tether's own `timeSeries` (retention). Keys Tether does not use are
 * ignored, because the Kaa blueprint also carries other services' settings.
 */
import type { AppDefinitions } from '../time-series/definitions.js';
import { MAX_RETENTION_DAYS, normaliseDefinitions, parseFallback, parseFormat } from '../time-series/definitions.js';
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

function days(where: string, raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_RETENTION_DAYS) {
    throw new Invalid(`${where} must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`);
  }
  return raw;
}

/** Kaa's `time-series:` list item to the REST form. */
function series(where: string, raw: unknown): Record<string, unknown> {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with name, value-field and tag-fields`);
  const tags = raw['tag-fields'] ?? [];
  if (!Array.isArray(tags)) throw new Invalid(`${where}.tag-fields must be a list of {name, required}`);
  return {
    name: raw['name'],
    valueField: raw['value-field'],
    tagFields: tags.map((tag, i) => {
      // A bare name is an optional tag.
      if (typeof tag === 'string') return { name: tag, required: false };
      if (!isRecord(tag)) throw new Invalid(`${where}.tag-fields[${i}] must be a mapping with name and required`);
      return { name: tag['name'], required: tag['required'] ?? false, ...(tag['path'] !== undefined && { path: tag['path'] }) };
    }),
  };
}

function extraction(where: string, raw: unknown): Record<string, unknown> {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with timestamp and extract-all`);
  const result: Record<string, unknown> = { extractAll: raw['extract-all'] ?? false };
  const ts = raw['timestamp'];
  if (ts !== undefined && ts !== null) {
    if (!isRecord(ts)) throw new Invalid(`${where}.timestamp must be a mapping with path, format and fallback-strategy`);
    result['timestamp'] = {
      path: ts['path'],
      format: parseFormat(`${where}.timestamp.format`, ts['format'] ?? 'millis-unix-epoch', invalid),
      fallbackStrategy: parseFallback(`${where}.timestamp.fallback-strategy`, ts['fallback-strategy'] ?? 'server-timestamp', invalid),
    };
  }
  return result;
}

export function parseTimeSeriesConfig(kaa: unknown, timeSeries: unknown): TimeSeriesConfig {
  const config: TimeSeriesConfig = { retentionByApp: {}, declared: [] };
  if (timeSeries !== undefined && timeSeries !== null) {
    if (!isRecord(timeSeries)) throw new Invalid('timeSeries must be a mapping with retentionDays, maxSeriesPerEndpoint and applications');
    const unknown = Object.keys(timeSeries).find((k) => k !== 'retentionDays' && k !== 'maxSeriesPerEndpoint' && k !== 'applications');
    if (unknown !== undefined) throw new Invalid(`timeSeries has unknown key "${unknown}"; allowed: retentionDays, maxSeriesPerEndpoint, applications`);
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
      if (!isRecord(settings)) throw new Invalid(`timeSeries.applications.${app} must be a mapping with retentionDays`);
      config.retentionByApp[app] = days(`timeSeries.applications.${app}.retentionDays`, settings['retentionDays']);
    }
  }
  if (kaa === undefined || kaa === null) return config;
  if (!isRecord(kaa)) throw new Invalid('kaa must be a mapping (Kaa blueprint: kaa.applications.<app>.time-series)');
  const apps = kaa['applications'] ?? {};
  if (!isRecord(apps)) throw new Invalid('kaa.applications must map application names to their settings');
  for (const [app, settings] of Object.entries(apps)) {
    const where = `kaa.applications.${app}`;
    if (settings === null || settings === undefined) continue;
    if (!isRecord(settings)) throw new Invalid(`${where} must be a mapping`);
    const list = settings['time-series'] ?? [];
    if (!Array.isArray(list)) throw new Invalid(`${where}.time-series must be a list of {name, value-field, tag-fields}`);
    const versions: Record<string, unknown> = {};
    const rawVersions = settings['versions'] ?? {};
    if (!isRecord(rawVersions)) throw new Invalid(`${where}.versions must map version names to their settings`);
    for (const [version, v] of Object.entries(rawVersions)) {
      if (isRecord(v) && v['extraction'] !== undefined) versions[version] = extraction(`${where}.versions.${version}.extraction`, v['extraction']);
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
