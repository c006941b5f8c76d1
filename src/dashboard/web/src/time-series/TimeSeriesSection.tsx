import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useCan } from '../admin/roles.js';
import { formatDate } from '../format.js';
import { useLiveEvents } from '../live.js';
import { ErrorMessage, Field } from '../ui.js';
import { definitionsApi } from './definitions-api.js';
import { epts } from './epts.js';
import { Gauge } from './Gauge.js';
import { LocationMap } from './LocationMap.js';
import { mapApi, type MapSettings } from './map-api.js';
import { MapTilesDialog } from './MapTilesDialog.js';
import {
  alignForChart,
  bucketFor,
  carriesPosition,
  duplicateAutoSeries,
  formatNumber,
  isPositionSeries,
  latestOf,
  mergePoints,
  niceScale,
  numberOf,
  parseAppended,
  pointsOf,
  trackOf,
  type Point,
  type SeriesPoints,
} from './points.js';
import { DATA_LOOKBACK_MS, fitRange, fromLocalInput, isLive, PRESETS, rangeKey, toLocalInput, windowOf, type TimeRange } from './range.js';
import { TimeSeriesChart } from './TimeSeriesChart.js';

/** The latest value beside a series' name: its coordinates for a position series (whose value may be a timestamp). */
function latestText(name: string, point: Point | undefined, values: readonly string[]): string {
  const fix = point && isPositionSeries(name, values) ? trackOf(new Map([[name, [point]]]))?.track[0] : undefined;
  return fix ? `${fix.lat.toFixed(4)}, ${fix.lon.toFixed(4)}` : formatNumber(numberOf(point));
}

const DEFAULT_RANGE: TimeRange = { kind: 'preset', preset: '1h' };

// Presets follow the clock: the window is re-read this often even when no data arrives.
const SLIDE_MS = 5_000;
// And fetched again this often, so the live points (raw) give way to the server's buckets.
const REFETCH_MS = 60_000;

/**
 * The endpoint page's telemetry: a chart of the endpoint's series over a chosen window
 * (downsampled by the server), a gauge of one series' latest value and, when a series carries
 * coordinates, the Endpoint Location map. Live points arrive through the `time-series.appended`
 * event and are drawn at once.
 */
export function TimeSeriesSection({ app, endpointId }: { app: string; endpointId: string }) {
  const can = useCan();
  const [definitions, setDefinitions] = useState<Map<string, string[]>>();
  const [valueFields, setValueFields] = useState<Array<{ name: string; valueField: string }>>([]);
  const [latest, setLatest] = useState<Map<string, Point>>(new Map());
  // Undefined until the range that holds the endpoint's data is known (fit below).
  const [fitted, setRange] = useState<TimeRange>();
  const range: TimeRange = fitted ?? DEFAULT_RANGE;
  const [lastPreset, setLastPreset] = useState<TimeRange>(DEFAULT_RANGE);
  const [now, setNow] = useState(() => Date.now());
  const [chartData, setChartData] = useState<SeriesPoints>(new Map());
  const [trackData, setTrackData] = useState<SeriesPoints>(new Map());
  const [hidden, setHidden] = useState<Set<string>>();
  const [gaugeSeries, setGaugeSeries] = useState<string>();
  const [gaugeScale, setGaugeScale] = useState<{ min: string; max: string }>();
  const [customOpen, setCustomOpen] = useState(false);
  const [custom, setCustom] = useState({ from: '', to: '' });
  const [mapSettings, setMapSettings] = useState<MapSettings>({ tileUrl: '', attribution: '' });
  const [mapDialog, setMapDialog] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // Which series the application has, then which of them this endpoint has data in.
  const loadSeries = useCallback(async () => {
    try {
      // The definitions say which field each named series reads (EPTS's config calls it `value`);
      // without them (an older server) no series is taken for a duplicate.
      const [config, doc] = await Promise.all([epts.config(app), definitionsApi.get(app).catch(() => undefined)]);
      const defs = new Map((config[app] ?? []).map((s) => [s.name, s.values]));
      const names = [...defs.keys()];
      const last = names.length > 0 ? latestOf(await epts.last(app, [endpointId], names)).get(endpointId) : undefined;
      setValueFields(doc?.timeSeries ?? []);
      setDefinitions(defs);
      setLatest(last ?? new Map());
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [app, endpointId]);

  useEffect(() => {
    void loadSeries();
    mapApi.get().then(setMapSettings, () => {});
  }, [loadSeries]);

  // `auto~fuelLevel` beside a defined `FuelLevel` that reads `fuelLevel` is the same line twice.
  const duplicates = useMemo(() => duplicateAutoSeries([...latest.keys()], valueFields), [latest, valueFields]);
  const present = useMemo(() => [...latest.keys()].filter((name) => !duplicates.has(name)).sort(), [latest, duplicates]);
  const valuesOf = useCallback((name: string) => definitions?.get(name) ?? [], [definitions]);
  const chartable = present.filter((name) => numberOf(latest.get(name)) !== null);
  const shownLines = chartable.filter((name) => !(hidden ?? new Set(chartable.filter((n) => isPositionSeries(n, valuesOf(n))))).has(name));
  const positionSeries = present.filter((name) => carriesPosition(name, [...valuesOf(name), ...Object.keys(latest.get(name)?.values ?? {})]));

  const { from, to } = windowOf(range, now);
  const bucket = bucketFor(to - from);
  const key = rangeKey(range);
  const linesKey = shownLines.join(',');
  const positionKey = positionSeries.join(',');

  // The chart opens on the range that holds the data: from the first point (up to a week before the
  // newest) to now, or around the data when the device stopped long ago.
  const fit = useCallback(async (known: Map<string, Point> = latest) => {
    const names = [...known.keys()];
    const now = Date.now();
    if (names.length === 0) {
      setRange({ kind: 'data', from: now });
      return;
    }
    const newest = Math.max(...[...known.values()].map((p) => p.t));
    let first = newest;
    try {
      for (const points of pointsOf(await epts.first(app, endpointId, names, newest - DATA_LOOKBACK_MS, newest), endpointId).values()) {
        for (const p of points) first = Math.min(first, p.t);
      }
    } catch {
      // The newest point alone still places the window.
    }
    const next = fitRange(first, newest, now);
    setRange(next);
    if (isLive(next)) setLastPreset(next);
  }, [app, endpointId, latest]);

  useEffect(() => {
    if (definitions && !fitted) void fit(latest);
  }, [definitions, fitted, fit, latest]);

  const live = isLive(range);
  // Live ranges slide with the clock.
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), SLIDE_MS);
    return () => clearInterval(timer);
  }, [live]);

  const [reload, setReload] = useState(0);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setReload((n) => n + 1), REFETCH_MS);
    return () => clearInterval(timer);
  }, [live]);

  // A slower answer for an older window must not replace a newer one.
  const generation = useRef(0);
  useEffect(() => {
    if (!fitted) return;
    const id = ++generation.current;
    const current = Date.now();
    const w = windowOf(range, current);
    setNow(current);
    const interval = bucketFor(w.to - w.from);
    const chart = shownLines.length > 0 ? epts.data(app, endpointId, shownLines, w.from, w.to, 'avg', interval) : Promise.resolve([]);
    // Positions are not averaged: the bucket's last fix is a place the device really was.
    const track = positionSeries.length > 0 ? epts.data(app, endpointId, positionSeries, w.from, w.to, 'last', interval) : Promise.resolve([]);
    Promise.all([chart, track]).then(
      ([c, t]) => {
        if (id !== generation.current) return;
        setChartData(pointsOf(c, endpointId));
        setTrackData(pointsOf(t, endpointId));
        setError(null);
      },
      (err) => {
        if (id === generation.current) setError(err);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reloads on the window and line keys (the arrays behind them are new on every render), and once the range is fitted
  }, [app, endpointId, key, linesKey, positionKey, reload, fitted === undefined]);

  const lastDiscovery = useRef(0);
  useLiveEvents(
    app,
    (event) => {
      const appended = parseAppended(event);
      if (!appended || appended.endpointId !== endpointId) return;
      const newest = new Map<string, Point>();
      for (const [name, points] of appended.series) newest.set(name, points[points.length - 1]!);
      setLatest((current) => {
        const next = new Map(current);
        for (const [name, point] of newest) if (!next.has(name) || next.get(name)!.t <= point.t) next.set(name, point);
        return next;
      });
      // A series seen for the first time: learn its value names (at most every 2 s).
      if ((!definitions || [...appended.series.keys()].some((name) => !definitions.has(name))) && Date.now() - lastDiscovery.current > 2_000) {
        lastDiscovery.current = Date.now();
        void loadSeries();
      }
      // The first data: the range is fitted to it (the event carries only each series' newest
      // point, the batch may reach further back) rather than starting when the page opened.
      if (fitted?.kind === 'data' && latest.size === 0) {
        void fit(newest);
        return;
      }
      if (!fitted || !isLive(fitted)) return;
      const current = Date.now();
      const windowStart = windowOf(range, current).from;
      setNow(current);
      const merge = (data: SeriesPoints) => {
        const next = new Map(data);
        for (const [name, points] of appended.series) next.set(name, mergePoints(next.get(name) ?? [], points, windowStart));
        return next;
      };
      setChartData(merge);
      setTrackData(merge);
    },
    () => {
      void loadSeries();
      setReload((n) => n + 1);
    },
  );

  const aligned = useMemo(
    () => alignForChart(shownLines.map((name) => ({ points: chartData.get(name) ?? [] }))),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the shown lines are compared by their key, not by array identity
    [chartData, linesKey],
  );
  const lines = useMemo(() => shownLines.map((label) => ({ label })), [linesKey]); // eslint-disable-line react-hooks/exhaustive-deps -- the shown lines are compared by their key, not by array identity
  const track = useMemo(() => trackOf(trackData), [trackData]);

  const gaugeName = gaugeSeries && chartable.includes(gaugeSeries) ? gaugeSeries : (chartable.find((n) => /temp/i.test(n)) ?? shownLines[0] ?? chartable[0]);
  const gaugeValue = gaugeName ? numberOf(latest.get(gaugeName)) : null;
  const [autoMin, autoMax] = niceScale([...(chartData.get(gaugeName ?? '') ?? []).flatMap((p) => numberOf(p) ?? []), ...(gaugeValue === null ? [] : [gaugeValue])]);
  const gaugeMin = gaugeScale && gaugeScale.min !== '' && Number.isFinite(Number(gaugeScale.min)) ? Number(gaugeScale.min) : autoMin;
  const gaugeMax = gaugeScale && gaugeScale.max !== '' && Number.isFinite(Number(gaugeScale.max)) ? Number(gaugeScale.max) : autoMax;

  const choosePreset = (preset: TimeRange) => {
    setRange(preset);
    setLastPreset(preset);
    setCustomOpen(false);
  };

  if (!definitions) {
    return (
      <section className="card" aria-labelledby="telemetry-title">
        <h2 id="telemetry-title">Telemetry</h2>
        {error ? <ErrorMessage error={error} /> : <p className="muted">Loading…</p>}
      </section>
    );
  }

  return (
    <section className="card telemetry" aria-labelledby="telemetry-title" data-testid="telemetry">
      <div className="widget-head">
        <h2 id="telemetry-title">Telemetry</h2>
        <div className="ts-ranges" role="group" aria-label="Time range">
          <button
            type="button"
            className={range.kind === 'data' ? 'ts-range active' : 'ts-range secondary'}
            aria-pressed={range.kind === 'data'}
            title="From the endpoint's first point (up to 7 days back) to now"
            onClick={() => {
              setCustomOpen(false);
              void fit(latest);
            }}
          >
            All data
          </button>
          {PRESETS.map((p) => (
            <button
              key={p.name}
              type="button"
              className={range.kind === 'preset' && range.preset === p.name ? 'ts-range active' : 'ts-range secondary'}
              aria-pressed={range.kind === 'preset' && range.preset === p.name}
              onClick={() => choosePreset({ kind: 'preset', preset: p.name })}
            >
              {p.label}
            </button>
          ))}
          <button
            type="button"
            className={range.kind === 'fixed' ? 'ts-range active' : 'ts-range secondary'}
            aria-pressed={range.kind === 'fixed'}
            aria-expanded={customOpen}
            onClick={() => {
              setCustom({ from: toLocalInput(from), to: toLocalInput(to) });
              setCustomOpen(!customOpen);
            }}
          >
            Custom
          </button>
        </div>
      </div>
      <ErrorMessage error={error} />

      {customOpen && (
        <form
          className="ts-custom"
          onSubmit={(event) => {
            event.preventDefault();
            const a = fromLocalInput(custom.from);
            const b = fromLocalInput(custom.to);
            if (a === undefined || b === undefined || b <= a) {
              setError(new Error('Choose a start before the end of the time range.'));
              return;
            }
            setError(null);
            setRange({ kind: 'fixed', from: a, to: b });
            setCustomOpen(false);
          }}
        >
          <Field label="From">{(id) => <input id={id} type="datetime-local" value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.target.value })} required />}</Field>
          <Field label="To">{(id) => <input id={id} type="datetime-local" value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.target.value })} required />}</Field>
          <button type="submit">Show range</button>
        </form>
      )}

      {present.length === 0 ? (
        <p className="muted" data-testid="telemetry-empty">
          No telemetry yet. A device sends it with 2/DCP, for example <code>[{'{"temperature": 21.5}'}]</code> to{' '}
          <code>kp1/&lt;app version&gt;/dcx/&lt;token&gt;/json</code>; it shows here as it arrives.
        </p>
      ) : (
        <>
          <div className="ts-grid">
            <div className="ts-chart-card">
              <div className="ts-caption">
                <span className="muted">
                  {formatDate(new Date(from).toISOString())} – {live ? 'now' : formatDate(new Date(to).toISOString())} · one point per{' '}
                  {bucket >= 3_600_000 ? `${bucket / 3_600_000} h` : bucket >= 60_000 ? `${bucket / 60_000} min` : `${bucket / 1000} s`} (average)
                </span>
                {range.kind === 'fixed' && (
                  <button type="button" className="link" onClick={() => choosePreset(lastPreset)}>
                    Back to live
                  </button>
                )}
              </div>
              {shownLines.length > 0 ? (
                <TimeSeriesChart
                  lines={lines}
                  data={aligned}
                  from={from}
                  to={to}
                  label={`Chart of ${shownLines.join(', ')}`}
                  bucketMs={bucket}
                  onZoom={(a, b) => {
                    setRange({ kind: 'fixed', from: a, to: b });
                    setCustomOpen(false);
                  }}
                />
              ) : (
                <p className="muted">Choose series to chart below.</p>
              )}
              <p className="hint">Drag across the chart to zoom in; the zoomed range is fetched in finer detail.</p>
              <fieldset className="ts-series">
                <legend>Series</legend>
                {chartable.map((name) => (
                  <label key={name} className="check">
                    <input
                      type="checkbox"
                      checked={shownLines.includes(name)}
                      onChange={(e) => {
                        const next = new Set(hidden ?? chartable.filter((n) => isPositionSeries(n, valuesOf(n))));
                        if (e.target.checked) next.delete(name);
                        else next.add(name);
                        setHidden(next);
                      }}
                    />
                    {name}
                    <span className="muted" data-testid={`latest-${name}`}>
                      {latestText(name, latest.get(name), valuesOf(name))}
                    </span>
                  </label>
                ))}
              </fieldset>
            </div>

            <div className="ts-gauge-card">
              {gaugeName && (
                <>
                  <Gauge value={gaugeValue} min={gaugeMin} max={gaugeMax} label={gaugeName} note={latest.get(gaugeName) ? formatDate(new Date(latest.get(gaugeName)!.t).toISOString()) : undefined} />
                  <Field label="Gauge series">
                    {(id) => (
                      <select id={id} value={gaugeName} onChange={(e) => { setGaugeSeries(e.target.value); setGaugeScale(undefined); }}>
                        {chartable.map((n) => (
                          <option key={n} value={n}>
                            {n}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                  <div className="ts-scale">
                    <Field label="Min">{(id) => <input id={id} type="number" inputMode="decimal" value={gaugeScale?.min ?? ''} placeholder={String(autoMin)} onChange={(e) => setGaugeScale({ min: e.target.value, max: gaugeScale?.max ?? '' })} />}</Field>
                    <Field label="Max">{(id) => <input id={id} type="number" inputMode="decimal" value={gaugeScale?.max ?? ''} placeholder={String(autoMax)} onChange={(e) => setGaugeScale({ min: gaugeScale?.min ?? '', max: e.target.value })} />}</Field>
                  </div>
                </>
              )}
            </div>
          </div>

          {positionSeries.length > 0 && (
            <div className="ts-location" aria-labelledby="location-title">
              <div className="widget-head">
                <h3 id="location-title">Endpoint Location</h3>
                {can.writeSettings && (
                  <button type="button" className="secondary" onClick={() => setMapDialog(true)}>
                    Map tiles…
                  </button>
                )}
              </div>
              <LocationMap track={track?.track ?? []} tiles={mapSettings} label={`Track of ${endpointId}`} />
              <p className="muted" data-testid="latest-position">
                {track && track.track.length > 0
                  ? `Latest position ${track.track[track.track.length - 1]!.lat.toFixed(5)}, ${track.track[track.track.length - 1]!.lon.toFixed(5)} at ${formatDate(new Date(track.track[track.track.length - 1]!.t).toISOString())} (${track.track.length} points, from ${track.source})`
                  : 'No position in this time range.'}
                {!mapSettings.tileUrl && ' · No map tiles configured: the track is drawn on a plain background.'}
              </p>
            </div>
          )}
        </>
      )}

      {mapDialog && (
        <MapTilesDialog
          settings={mapSettings}
          onClose={() => setMapDialog(false)}
          onSaved={(s) => {
            // The page's Content-Security-Policy names the tile server it was loaded with: a new
            // server's tiles load only after a reload.
            if (s.tileUrl && s.tileUrl !== mapSettings.tileUrl) return window.location.reload();
            setMapSettings(s);
            setMapDialog(false);
          }}
        />
      )}
    </section>
  );
}
