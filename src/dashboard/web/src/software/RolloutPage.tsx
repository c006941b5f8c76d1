import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api.js';
import { formatDate } from '../format.js';
import { endpointUrl, linkHandler } from '../router.js';
import { ErrorMessage, Field, useAction } from '../ui.js';
import { ConfirmDialog, TableHead } from '../widgets.js';
import { useCan } from '../admin/roles.js';
import { DEVICE_STATES, OPEN_STATES, softwareApi, softwareUrl, type DeviceState, type Rollout, type RolloutDevice, type TimelinePoint } from './software-api.js';
import { useRolloutRefresh } from './use-rollout-refresh.js';
import './software.css';

// uPlot loads with this page, not with the list.
const RolloutChart = lazy(() => import('./RolloutChart.js').then((m) => ({ default: m.RolloutChart })));


const STATE_LABELS: Record<DeviceState, string> = {
  applied: 'Applied',
  failed: 'Failed',
  timed_out: 'Timed out',
  offered: 'Offered',
  pending: 'Pending',
  skipped: 'Skipped',
};

const total = (r: Rollout) => DEVICE_STATES.reduce((n, s) => n + r.counts[s], 0);

/** One bar, a segment per device state (applied, failed, timed out, offered; the rest is pending). */
export function RolloutBar({ rollout, compact }: { rollout: Rollout; compact?: boolean }) {
  const all = Math.max(1, total(rollout));
  const segments: DeviceState[] = ['applied', 'failed', 'timed_out', 'offered', 'skipped'];
  const c = rollout.counts;
  const label = `${c.applied} applied, ${c.failed} failed, ${c.timed_out} timed out, ${c.offered} offered, ${c.pending} pending of ${total(rollout)}`;
  return (
    <div className={compact ? 'rollout-bar compact' : 'rollout-bar'}>
      <div className="rollout-bar-track" role="img" aria-label={label}>
        {segments.map((s) => (c[s] > 0 ? <span key={s} className={`seg-${s}`} style={{ width: `${(c[s] / all) * 100}%` }} /> : null))}
      </div>
      {compact && <span className="muted rollout-bar-text">{label}</span>}
    </div>
  );
}

function describeTarget(r: Rollout): string {
  const t = r.target as { appVersionName?: string; endpointIds?: string[]; query?: Record<string, unknown> };
  if (t.appVersionName !== undefined) return `Every endpoint of ${t.appVersionName}`;
  if (t.endpointIds !== undefined) return `${t.endpointIds.length} chosen endpoint${t.endpointIds.length === 1 ? '' : 's'}`;
  const q = t.query ?? {};
  const parts = Object.entries(q).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  return parts.length ? `Endpoints matching ${parts.join('; ')}` : 'Every endpoint of the application';
}

/** A rollout as it goes: counts per state, a chart of applied over time, failures with the devices' reasons. */
export function RolloutPage({ app, rolloutId }: { app: string; rolloutId: string }) {
  const can = useCan();
  const [rollout, setRollout] = useState<Rollout>();
  const [timeline, setTimeline] = useState<TimelinePoint[]>([]);
  const [failures, setFailures] = useState<RolloutDevice[]>([]);
  const [devices, setDevices] = useState<{ state: DeviceState | ''; rows: RolloutDevice[]; total: number }>({ state: '', rows: [], total: 0 });
  const [error, setError] = useState<unknown>(null);
  const [gone, setGone] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const change = useAction();
  const deviceState = useRef<DeviceState | ''>('');

  const load = useCallback(async () => {
    try {
      const [r, t, failed, timedOut, list] = await Promise.all([
        softwareApi.rollout(rolloutId),
        softwareApi.timeline(rolloutId),
        softwareApi.devices(rolloutId, 'failed', 50),
        softwareApi.devices(rolloutId, 'timed_out', 50),
        softwareApi.devices(rolloutId, deviceState.current || undefined, 50),
      ]);
      setRollout(r);
      setTimeline(t);
      setFailures([...failed.content, ...timedOut.content]);
      setDevices({ state: deviceState.current, rows: list.content, total: list.totalElements });
      setError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setGone(true);
      else setError(err);
    }
  }, [rolloutId]);
  useEffect(() => {
    void load();
  }, [load]);

  useRolloutRefresh(app, rollout ? OPEN_STATES.has(rollout.state) : true, load);

  const back = (
    <a className="back" href={softwareUrl(app)} onClick={linkHandler(softwareUrl(app))}>
      ← Software of {app}
    </a>
  );
  if (gone) {
    return (
      <section className="card">
        {back}
        <h1>Rollout not found</h1>
        <p>
          Rollout <code>{rolloutId}</code> does not exist.
        </p>
      </section>
    );
  }

  const act = (action: 'pause' | 'resume' | 'cancel') =>
    change.run(async () => {
      setRollout(await softwareApi.change(rolloutId, action));
      await load();
    });

  return (
    <div className="rollout-page">
      {back}
      <ErrorMessage error={error} />
      <section className="card" aria-labelledby="rollout-title" data-testid="rollout-summary">
        <div className="widget-head">
          <h1 id="rollout-title">
            Rollout of {rollout?.version ?? '…'} <span className="muted rollout-id">{rolloutId}</span>
          </h1>
          {rollout && (
            <span className={`rollout-state rollout-${rollout.state}`} data-testid="rollout-state">
              {rollout.state}
            </span>
          )}
        </div>
        {rollout?.reason && (
          <p className={rollout.state === 'aborted' ? 'error' : 'notice'} data-testid="rollout-reason">
            {rollout.reason}
          </p>
        )}
        {rollout && (
          <>
            <RolloutBar rollout={rollout} />
            <dl className="rollout-counts" data-testid="rollout-counts">
              {DEVICE_STATES.map((s) => (
                <div key={s} className={`count-${s}`}>
                  <dt>{STATE_LABELS[s]}</dt>
                  <dd data-testid={`count-${s}`}>{rollout.counts[s].toLocaleString('en')}</dd>
                </div>
              ))}
            </dl>
            <dl className="facts">
              <div>
                <dt>Target</dt>
                <dd>{describeTarget(rollout)}</dd>
              </div>
              <div>
                <dt>Rate</dt>
                <dd>
                  {rollout.rate
                    ? `${rollout.rate.perMinute} per minute${rollout.rate.growth ? `, ×${rollout.rate.growth.factor} every ${rollout.rate.growth.everySuccesses} successes` : ''}`
                    : 'Everyone at once'}
                </dd>
              </div>
              <div>
                <dt>Abort rule</dt>
                <dd>
                  {rollout.abort
                    ? `Over ${rollout.abort.failurePercent} % failed of at least ${rollout.abort.minAttempted}${rollout.abort.reportTimeoutSeconds ? `; silent ${rollout.abort.reportTimeoutSeconds} s = failed` : ''}`
                    : 'None'}
                </dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{formatDate(rollout.createdAt)}</dd>
              </div>
              <div>
                <dt>Updated</dt>
                <dd>{formatDate(rollout.updatedAt)}</dd>
              </div>
            </dl>
            {can.writeEndpoints && OPEN_STATES.has(rollout.state) && (
              <div className="config-actions">
                {rollout.state === 'running' ? (
                  <button type="button" className="secondary" disabled={change.busy} onClick={() => void act('pause')}>
                    Pause
                  </button>
                ) : (
                  <button type="button" disabled={change.busy} onClick={() => void act('resume')}>
                    Resume
                  </button>
                )}
                <button type="button" className="danger" disabled={change.busy} onClick={() => setConfirmCancel(true)}>
                  Cancel rollout…
                </button>
              </div>
            )}
            <ErrorMessage error={change.error} />
          </>
        )}
      </section>

      {rollout && (
        <section className="card" aria-labelledby="rollout-chart-title">
          <h2 id="rollout-chart-title">Applied over time</h2>
          <Suspense fallback={<p className="muted">Loading the chart…</p>}>
            <RolloutChart rollout={rollout} timeline={timeline} />
          </Suspense>
        </section>
      )}

      <section className="card" aria-labelledby="rollout-failures-title">
        <h2 id="rollout-failures-title">Failures</h2>
        {failures.length === 0 ? (
          <p className="muted">No device has failed.</p>
        ) : (
          <DeviceTable app={app} rows={failures} labelledBy="rollout-failures-title" testId="rollout-failures" />
        )}
        {rollout && rollout.counts.failed + rollout.counts.timed_out > failures.length && (
          <p className="muted">
            {failures.length} shown of {rollout.counts.failed + rollout.counts.timed_out}.
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="rollout-devices-title">
        <div className="widget-head">
          <h2 id="rollout-devices-title">Devices</h2>
          <Field className="inline" label="State">
            {(id) => (
            <select
              id={id}
              value={devices.state}
              onChange={(e) => {
                deviceState.current = e.target.value as DeviceState | '';
                void load();
              }}
            >
              <option value="">All</option>
              {DEVICE_STATES.map((s) => (
                <option key={s} value={s}>
                  {STATE_LABELS[s]}
                </option>
              ))}
            </select>
            )}
          </Field>
        </div>
        {devices.rows.length === 0 ? <p className="muted">No devices in this state.</p> : <DeviceTable app={app} rows={devices.rows} labelledBy="rollout-devices-title" testId="rollout-devices" />}
        {devices.total > devices.rows.length && (
          <p className="muted">
            {devices.rows.length} shown of {devices.total.toLocaleString('en')}.
          </p>
        )}
      </section>

      {confirmCancel && (
        <ConfirmDialog
          title="Cancel this rollout?"
          confirmLabel="Cancel rollout"
          onClose={() => setConfirmCancel(false)}
          onConfirm={async () => {
            setRollout(await softwareApi.change(rolloutId, 'cancel'));
            setConfirmCancel(false);
            await load();
          }}
        >
          <p>No more devices are offered the update, and offers not yet applied are withdrawn. Devices that already updated keep the new version.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function DeviceTable({ app, rows, labelledBy, testId }: { app: string; rows: RolloutDevice[]; labelledBy: string; testId: string }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-labelledby={labelledBy} data-testid={testId}>
        <TableHead columns={['Endpoint', 'State', 'Reason', 'Offered', 'Finished']} />
        <tbody>
          {rows.map((d) => (
            <tr key={d.endpointId} data-endpoint-id={d.endpointId}>
              <td data-label="Endpoint">
                <a href={endpointUrl(app, d.endpointId)} onClick={linkHandler(endpointUrl(app, d.endpointId))}>
                  {d.endpointId}
                </a>
              </td>
              <td data-label="State">
                <span className={`status device-${d.state}`}>{STATE_LABELS[d.state]}</span>
              </td>
              <td data-label="Reason" data-testid="device-reason">
                {d.reason ?? '—'}
              </td>
              <td data-label="Offered">{formatDate(d.offeredAt)}</td>
              <td data-label="Finished">{formatDate(d.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
