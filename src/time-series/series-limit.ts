import type { Clock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import type { SeriesPoints, TimeSeriesStorage } from '../storage/time-series.js';

/**
 * Series one endpoint may have. Extract-all makes a series of every numeric or boolean field a
 * device sends, so without a bound one device could create series rows as fast as it can invent
 * field names. Kaa's and Tether's own examples use a handful.
 */
export const MAX_SERIES_PER_ENDPOINT = 1000;
/** Endpoints whose series names are remembered; the least recently written are forgotten first. */
const REMEMBERED = 10_000;
/** Names are read again after this long: retention deletes series, other nodes add them. */
const REFRESH_MS = 10 * 60_000;

interface Known {
  at: number;
  names: Set<string>;
}

/**
 * Keeps the series names of recently written endpoints, so the check costs a lookup per series of a
 * batch, and reads an endpoint's names from storage only on its first write (and every REFRESH_MS).
 * With several nodes each counts what it has seen: an endpoint written through several nodes at once
 * may pass the limit by a few series before every node has read them.
 */
export class SeriesLimit {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly storage: Pick<TimeSeriesStorage, 'seriesNames'>,
    private readonly clock: Clock,
    private readonly max = MAX_SERIES_PER_ENDPOINT,
  ) {}

  /**
   * Rejects with TIME_SERIES_LIMIT when the batch would take an endpoint beyond the limit; resolves
   * with a function to call once the batch is stored, which remembers its new names.
   */
  async check(applicationName: string, batch: readonly SeriesPoints[]): Promise<() => void> {
    // Per endpoint of the batch (a device's batch names one): what it has, and what the batch adds.
    const endpoints = new Map<string, { known: Set<string>; added: Set<string> }>();
    for (const group of batch) {
      if (group.points.length === 0) continue;
      let entry = endpoints.get(group.endpointId);
      if (!entry) {
        const known = this.recent(group.endpointId) ?? (await this.load(applicationName, group.endpointId));
        endpoints.set(group.endpointId, (entry = { known, added: new Set() }));
      }
      if (!entry.known.has(group.series)) entry.added.add(group.series);
    }
    for (const [endpointId, { known, added }] of endpoints) {
      if (known.size + added.size > this.max) throw errors.timeSeriesLimit(endpointId, known.size, added.size, this.max);
    }
    return () => {
      for (const { known, added } of endpoints.values()) for (const name of added) known.add(name);
    };
  }

  /** An endpoint deleted: its series are gone. */
  forget(endpointId: string): void {
    this.known.delete(endpointId);
  }

  /** The endpoint's names when read recently enough; marks it most recently used. */
  private recent(endpointId: string): Set<string> | undefined {
    const known = this.known.get(endpointId);
    if (!known || this.clock.now() - known.at >= REFRESH_MS) return undefined;
    // Most recently written last: Map order is the eviction order.
    this.known.delete(endpointId);
    this.known.set(endpointId, known);
    return known.names;
  }

  private async load(applicationName: string, endpointId: string): Promise<Set<string>> {
    const names = new Set(await this.storage.seriesNames(applicationName, endpointId));
    this.known.delete(endpointId);
    this.known.set(endpointId, { at: this.clock.now(), names });
    if (this.known.size > REMEMBERED) this.known.delete(this.known.keys().next().value!);
    return names;
  }
}
