import type { SeriesDefinition, TimestampFormat } from '../../../../time-series/definitions.js';
import { request } from '../api.js';

// The server's own types: the dashboard edits the document the REST API validates.
export type { SeriesDefinition, TagField, TimestampFormat } from '../../../../time-series/definitions.js';

export interface VersionExtraction {
  timestamp: { path: string; format: TimestampFormat; fallbackStrategy: 'server-timestamp' | 'skip' };
  extractAll: boolean;
}

/** GET/PUT /api/v1/applications/{app}/time-series (docs/time-series.md). */
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
