/**
 * Data samples to data points (Kaa EPTS extraction). Pure: the DCX extension and the tests call it.
 */
import type { PointValue, PointValues, SeriesPoints } from '../storage/time-series.js';
import { AUTO_PREFIX } from './definitions.js';
import type { AppDefinitions, Extraction, SeriesDefinition } from './definitions.js';

/** `$.a.b`, `$['a'].b`, `a.b` or `a` to the list of keys. Only member access: no wildcards or filters. */
export function parsePath(path: string): string[] {
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const keys: string[] = [];
  const re = /^(?:\.?([^.[\]]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\])/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) return [path];
    keys.push(m[1] ?? m[2] ?? m[3] ?? '');
    rest = rest.slice(m[0].length);
  }
  return keys;
}

const pathCache = new Map<string, string[]>();

function keysOf(path: string): string[] {
  let keys = pathCache.get(path);
  if (!keys) {
    keys = parsePath(path);
    if (pathCache.size > 10_000) pathCache.clear();
    pathCache.set(path, keys);
  }
  return keys;
}

export function valueAt(sample: unknown, path: string): unknown {
  let current = sample;
  for (const key of keysOf(path)) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const MIN_TIME = 0;
const MAX_TIME = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
const HAS_ZONE = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/;

/** The sample's time by the version's rules; undefined: skip it (fallback `skip`). */
export function timestampOf(sample: unknown, extraction: Extraction, receivedAt: number): number | undefined {
  const { path, format, fallbackStrategy } = extraction.timestamp;
  const fallback = fallbackStrategy === 'server-timestamp' ? receivedAt : undefined;
  if (path === undefined) return receivedAt;
  const raw = valueAt(sample, path);
  let t: number;
  if (format === 'iso-8601') {
    if (typeof raw !== 'string') return fallback;
    // ISO-8601 without a zone is UTC here (JavaScript would read a date-time as local time).
    t = Date.parse(HAS_ZONE.test(raw) || !raw.includes('T') ? raw : `${raw}Z`);
  } else {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    t = format === 'seconds-unix-epoch' ? Math.round(n * 1000) : Math.round(n);
  }
  if (!Number.isFinite(t) || t < MIN_TIME || t > MAX_TIME) return fallback;
  return t;
}

function isPointValue(value: unknown): value is PointValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function pointOf(sample: unknown, def: SeriesDefinition): PointValues | undefined {
  const value = valueAt(sample, def.valueField);
  if (!isPointValue(value)) return undefined;
  const values: PointValues = { value };
  for (const tag of def.tagFields) {
    const tagValue = valueAt(sample, tag.path ?? tag.name);
    if (isPointValue(tagValue)) values[tag.name] = tagValue;
    else if (tag.required) return undefined;
  }
  return values;
}

/**
 * Extracts every data point of a batch of samples for one endpoint, grouped by series. Samples that
 * are not objects, or yield nothing, are skipped.
 */
export function extractPoints(
  endpointId: string,
  samples: readonly unknown[],
  definitions: AppDefinitions,
  extraction: Extraction,
  receivedAt: number,
): SeriesPoints[] {
  const groups = new Map<string, SeriesPoints>();
  const add = (series: string, t: number, values: PointValues) => {
    let group = groups.get(series);
    if (!group) groups.set(series, (group = { endpointId, series, points: [] }));
    group.points.push({ t, values });
  };
  const tsKeys = extraction.timestamp.path !== undefined ? keysOf(extraction.timestamp.path) : [];
  // Only a top-level timestamp field is left out of extract-all (a nested one is never auto-extracted anyway).
  const tsField = tsKeys.length === 1 ? tsKeys[0] : undefined;
  for (const sample of samples) {
    if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) continue;
    const t = timestampOf(sample, extraction, receivedAt);
    if (t === undefined) continue;
    for (const def of definitions.timeSeries) {
      const values = pointOf(sample, def);
      if (values) add(def.name, t, values);
    }
    if (extraction.extractAll) {
      const record = sample as Record<string, unknown>;
      for (const key in record) {
        // Keys with a comma or over 123 characters would make names REST lists cannot carry.
        if (key === tsField || !Object.hasOwn(record, key) || key.length > 123 || key.includes(',')) continue;
        const value = record[key];
        // EPTS extract-all: numeric and boolean fields only.
        if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') add(`${AUTO_PREFIX}${key}`, t, { value });
      }
    }
  }
  return [...groups.values()];
}
