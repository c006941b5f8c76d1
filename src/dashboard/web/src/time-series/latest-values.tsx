import { useEffect, useRef, useState } from 'react';
import { formatDate } from '../format.js';
import { useLiveEvents } from '../live.js';
import { epts } from './epts.js';
import { formatNumber, latestOf, numberOf, parseAppended, type Point } from './points.js';

export type LatestValues = Map<string, Map<string, Point>>;

/**
 * The latest point of `series` for each endpoint on the visible list page: one `last` request per
 * page (comma-separated lists), then patched by the `time-series.appended` live event.
 */
export function useLatestValues(app: string, endpointIds: readonly string[], series: readonly string[]): LatestValues {
  const [values, setValues] = useState<LatestValues>(new Map());
  const idsKey = endpointIds.join(',');
  const seriesKey = series.join(',');
  const request = useRef(0);

  const load = () => {
    const id = ++request.current;
    if (endpointIds.length === 0 || series.length === 0) {
      setValues(new Map());
      return;
    }
    epts.last(app, [...endpointIds], [...series]).then(
      (answer) => {
        if (id === request.current) setValues(latestOf(answer));
      },
      // The metadata columns still work without telemetry; the cells stay empty.
      () => {},
    );
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps -- the endpoint and series lists are compared by their keys, not by array identity
  useEffect(load, [app, idsKey, seriesKey]);

  useLiveEvents(
    series.length > 0 ? app : undefined,
    (event) => {
      const appended = parseAppended(event);
      if (!appended || !endpointIds.includes(appended.endpointId)) return;
      const wanted = [...appended.series].filter(([name]) => series.includes(name));
      if (wanted.length === 0) return;
      setValues((current) => {
        const next = new Map(current);
        const row = new Map(next.get(appended.endpointId) ?? []);
        for (const [name, points] of wanted) {
          const point = points[points.length - 1]!;
          if ((row.get(name)?.t ?? -Infinity) <= point.t) row.set(name, point);
        }
        next.set(appended.endpointId, row);
        return next;
      });
    },
    load,
  );
  return values;
}

/** One list cell: the number (or text) with its time on hover. */
export function LatestValueCell({ point }: { point: Point | undefined }) {
  if (!point) return <span className="muted">—</span>;
  const n = numberOf(point);
  const text = n !== null ? formatNumber(n) : JSON.stringify(point.values.value ?? point.values);
  return (
    <span className="ts-latest" title={`at ${formatDate(new Date(point.t).toISOString())}`}>
      {text}
    </span>
  );
}
