import type { EventBus } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { PointValues, SeriesPoints } from '../storage/time-series.js';

const LIVE_INTERVAL_MS = 250;

interface Pending {
  applicationName: string;
  latest: Record<string, { t: number; values: PointValues }>;
}

/**
 * Publishes `time-series.appended` at most every LIVE_INTERVAL_MS per endpoint: points arriving in
 * between only replace the pending latest point of their series, so a device sending thousands of
 * points a second costs the bus (and every dashboard) four small events a second.
 */
export class LivePublisher {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  stored(applicationName: string, batch: readonly SeriesPoints[]): void {
    for (const group of batch) {
      let entry = this.pending.get(group.endpointId);
      if (!entry) this.pending.set(group.endpointId, (entry = { applicationName, latest: Object.create(null) as Pending['latest'] }));
      let newest = entry.latest[group.series];
      for (const point of group.points) if (!newest || point.t >= newest.t) newest = point;
      if (newest) entry.latest[group.series] = newest;
    }
    if (this.pending.size > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), LIVE_INTERVAL_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    this.pending = new Map();
    const at = this.clock.iso();
    for (const [endpointId, entry] of pending) {
      const latest: Record<string, { timestamp: string; values: PointValues }> = {};
      for (const [series, point] of Object.entries(entry.latest)) latest[series] = { timestamp: new Date(point.t).toISOString(), values: point.values };
      this.bus
        .publish({ type: 'time-series.appended', endpointId, applicationName: entry.applicationName, at, latest })
        .catch((err: unknown) => this.logger.warn({ err }, 'time series event not published'));
    }
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
