/**
 * Time series storage (Kaa EPTS), separate from `Storage`: its data is append-mostly and large, so a
 * backend may keep it elsewhere (another file, TimescaleDB) than the endpoint register. Every backend
 * passes test/storage/time-series-conformance.ts.
 *
 * Times are milliseconds since the epoch. A data point value is a number, a boolean or a string.
 */

export type PointValue = number | boolean | string;
export type PointValues = Record<string, PointValue>;

/**
 * Points of one series of one endpoint, as a batch to append, in any order. A series holds one point
 * per time: a point with the time of a stored one replaces it, and of several with one time in a
 * batch the last stays (a device's QoS 1 retransmission changes nothing; a correction wins).
 */
export interface SeriesPoints {
  endpointId: string;
  series: string;
  points: Array<{ t: number; values: PointValues }>;
}

export interface StoredPoint {
  t: number;
  values: PointValues;
}

export type Aggregate = 'avg' | 'min' | 'max' | 'last';

export interface RangeQuery {
  applicationName: string;
  endpointId: string;
  series: string;
  /** Inclusive bounds (callers turn exclusive ones into ±1 ms). */
  from: number;
  to: number;
  order: 'asc' | 'desc';
  /** At most this many points (raw queries). */
  limit: number;
}

export interface AggregateQuery extends Omit<RangeQuery, 'limit'> {
  fn: Aggregate;
  /** Bucket width; buckets start at `from + k * intervalMs`. */
  intervalMs: number;
}

/** The definitions document of one application, stored as given (validated by the caller). */
export type DefinitionsDoc = Record<string, unknown>;

export interface TimeSeriesStorage {
  readonly kind: string;
  /** Durable when it resolves. All series belong to one application. */
  append(applicationName: string, batch: SeriesPoints[]): Promise<void>;
  /**
   * The latest point per (endpoint, series), optionally strictly before `before`. `endpointIds`
   * undefined: every endpoint of the application with data, at most `maxEndpoints`.
   */
  last(applicationName: string, endpointIds: string[] | undefined, series: string[], before?: number, maxEndpoints?: number): Promise<Map<string, Map<string, StoredPoint>>>;
  /** Points in [from, to], sorted; `truncated` when more than `limit` existed. */
  range(query: RangeQuery): Promise<{ points: StoredPoint[]; truncated: boolean }>;
  /** One point per non-empty bucket, its `t` the bucket start; sorted as asked. */
  aggregate(query: AggregateQuery): Promise<StoredPoint[]>;
  /** Names of the series with data in the application (or of one endpoint in it), sorted. */
  seriesNames(applicationName: string, endpointId?: string): Promise<string[]>;
  getDefinitions(applicationName: string): Promise<DefinitionsDoc | undefined>;
  putDefinitions(applicationName: string, doc: DefinitionsDoc): Promise<void>;
  /** Deletes data older than `cutoff` of the application; resolves with the points deleted. */
  deleteBefore(applicationName: string, cutoff: number): Promise<number>;
  /** Deletes every series of the endpoint. */
  deleteEndpoint(endpointId: string): Promise<void>;
  /** Background upkeep (merging small chunks). Resolves true when more work is waiting. */
  maintain(): Promise<boolean>;
  /** Applications that have data. */
  applications(): Promise<string[]>;
  close(): Promise<void>;
}
