import { request } from '../api.js';

export interface TagField {
  name: string;
  path?: string;
  required: boolean;
}

export interface SeriesDefinition {
  name: string;
  valueField: string;
  tagFields: TagField[];
}

export type TimestampFormat = 'millis-unix-epoch' | 'seconds-unix-epoch' | 'iso-8601';

export interface VersionExtraction {
  timestamp: { path: string; format: TimestampFormat; fallbackStrategy: 'server-timestamp' | 'skip' };
  extractAll: boolean;
}

/** GET/PUT /api/v1/applications/{app}/time-series (docs/telemetry.md). */
export interface TimeSeriesDocument {
  applicationName?: string;
  retentionDays: number;
  timeSeries: SeriesDefinition[];
  versions: Record<string, VersionExtraction>;
}

export const DEFAULT_EXTRACTION: VersionExtraction = {
  timestamp: { path: '$.timestamp', format: 'millis-unix-epoch', fallbackStrategy: 'server-timestamp' },
  extractAll: true,
};

const enc = encodeURIComponent;

export const definitionsApi = {
  get: (app: string) => request<TimeSeriesDocument>('GET', `/api/v1/applications/${enc(app)}/time-series`),
  save: (app: string, doc: Omit<TimeSeriesDocument, 'applicationName'>) => request<TimeSeriesDocument>('PUT', `/api/v1/applications/${enc(app)}/time-series`, doc),
};
