import { useCallback, useEffect, useRef, useState } from 'react';
import { formatDate } from '../format.js';
import { useLiveEvents } from '../live.js';
import { ErrorMessage } from '../ui.js';
import { TableHead } from '../widgets.js';
import { softwareApi, type EndpointSoftware, type SoftwareReport } from './software-api.js';

const ok = (code: number) => code >= 200 && code < 300;

/** What the endpoint's device runs (as it reported on cmx_ota), what it would be offered next, and its reports. */
export function EndpointSoftwareSection({ app, endpointId }: { app: string; endpointId: string }) {
  const [state, setState] = useState<EndpointSoftware>();
  const [history, setHistory] = useState<{ rows: SoftwareReport[]; total: number }>();
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);

  const load = useCallback(async () => {
    const id = ++generation.current;
    try {
      const [s, h] = await Promise.all([softwareApi.endpoint(endpointId), softwareApi.history(endpointId)]);
      if (id !== generation.current) return;
      setState(s);
      setHistory({ rows: h.content, total: h.totalElements });
      setError(null);
    } catch (err) {
      if (id === generation.current) setError(err);
    }
  }, [endpointId]);
  useEffect(() => {
    void load();
  }, [load]);
  useLiveEvents(
    app,
    (event) => {
      if (event.type === 'software.reported' && event.endpointId === endpointId) void load();
    },
    () => void load(),
  );

  return (
    <section className="card" aria-labelledby="software-section-title" data-testid="endpoint-software">
      <h2 id="software-section-title">Software</h2>
      <ErrorMessage error={error} />
      {state && (
        <dl className="facts">
          <div>
            <dt>Current version</dt>
            <dd data-testid="software-version">{state.version ?? <span className="muted">not reported yet</span>}</dd>
          </div>
          <div>
            <dt>Reported</dt>
            <dd>{formatDate(state.reportedAt)}</dd>
          </div>
          <div>
            <dt>Next version</dt>
            <dd>{state.next ? `${state.next.version} (${state.next.reason})` : <span className="muted">none</span>}</dd>
          </div>
          {state.lastFailure && (
            <div>
              <dt>Last failed update</dt>
              <dd className="error-text" data-testid="software-last-failure">
                {state.lastFailure.version}: {state.lastFailure.statusCode}
                {state.lastFailure.reasonPhrase ? ` ${state.lastFailure.reasonPhrase}` : ''} ({formatDate(state.lastFailure.at)})
              </dd>
            </div>
          )}
        </dl>
      )}
      <h3 id="software-history-title">Reports</h3>
      {history && history.rows.length === 0 && (
        <p className="muted">
          The device has not reported a version yet (it does on <code>kp1/&lt;app-version&gt;/cmx_ota/&lt;token&gt;/applied/json</code>).
        </p>
      )}
      {history && history.rows.length > 0 && (
        <div className="table-wrap">
          <table className="stack" aria-labelledby="software-history-title" data-testid="software-history">
            <TableHead columns={['Version', 'Outcome', 'Code', 'Reason', 'At']} />
            <tbody>
              {history.rows.map((r, i) => (
                <tr key={`${r.at}-${i}`}>
                  <td data-label="Version">{r.version}</td>
                  <td data-label="Outcome">
                    <span className={ok(r.statusCode) ? 'status status-applied' : 'status status-failed'}>{ok(r.statusCode) ? 'running' : 'failed'}</span>
                  </td>
                  <td data-label="Code">{r.statusCode}</td>
                  <td data-label="Reason">{r.reasonPhrase ?? '—'}</td>
                  <td data-label="At">{formatDate(r.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {history && history.total > history.rows.length && (
        <p className="muted">
          {history.rows.length} newest shown of {history.total}.
        </p>
      )}
    </section>
  );
}
