import { request } from '../api.js';

/** One data point as Kaa EPTS answers it: ISO-8601 time, the value fields and (Tether) the tags. */
export interface KaaPoint {
  timestamp: string;
  values: Record<string, unknown>;
  tags?: Record<string, unknown>;
}

/** `[ { "<endpointId>": { "<series>": [points] } } ]`, Kaa EPTS's answer to `last` and `data`. */
export type KaaSeriesAnswer = Array<Record<string, Record<string, KaaPoint[]>>>;

/** `{ "<app>": [ {name, values} ] }`, Kaa EPTS's time-series configuration. */
export type KaaSeriesConfig = Record<string, Array<{ name: string; values: string[] }>>;

export type Aggregate = 'avg' | 'min' | 'max' | 'last';

const enc = encodeURIComponent;
const EPTS = '/epts/api/v1';

export const epts = {
  config: (app: string) => request<KaaSeriesConfig>('GET', `${EPTS}/time-series/config?applicationNames=${enc(app)}`),

  /** Latest point of each series of each endpoint; comma-separated lists, as in Kaa. */
  last: (app: string, endpointIds: string[], series: string[]) => {
    const q = new URLSearchParams({ endpointId: endpointIds.join(','), timeSeriesName: series.join(',') });
    return request<KaaSeriesAnswer>('GET', `${EPTS}/applications/${enc(app)}/time-series/last?${q.toString()}`);
  },

  /** The first raw point of the given series between two instants (at most one per series). */
  first: (app: string, endpointId: string, series: string[], from: number, to: number) => {
    const q = new URLSearchParams({
      endpointId,
      timeSeriesName: series.join(','),
      fromDate: new Date(from).toISOString(),
      toDate: new Date(to).toISOString(),
      sort: 'ASC',
      limit: '1',
    });
    return request<KaaSeriesAnswer>('GET', `${EPTS}/applications/${enc(app)}/time-series/data?${q.toString()}`);
  },

  /** Points of one endpoint between two instants, downsampled to one per `intervalMs` bucket. */
  data: (app: string, endpointId: string, series: string[], from: number, to: number, aggregate: Aggregate, intervalMs: number) => {
    const q = new URLSearchParams({
      endpointId,
      timeSeriesName: series.join(','),
      fromDate: new Date(from).toISOString(),
      toDate: new Date(to).toISOString(),
      sort: 'ASC',
      aggregate,
      interval: formatInterval(intervalMs),
    });
    return request<KaaSeriesAnswer>('GET', `${EPTS}/applications/${enc(app)}/time-series/data?${q.toString()}`);
  },
};

/** The `interval` query value: whole seconds, minutes, hours or days with their unit letter. */
export function formatInterval(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}
