import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, type DashboardEvent, type Endpoint, type ServerInfo, type Token } from './api.js';
import { formatAgo, formatDate } from './format.js';
import { useLiveEvents } from './live.js';
import { MetadataSection } from './MetadataSection.js';
import { linkHandler, navigate } from './router.js';
import { TokensSection } from './TokensSection.js';
import { ErrorMessage, StatusBadge } from './ui.js';
import { ConfirmDialog } from './widgets.js';
import { useCan } from './admin/roles.js';
import { MetadataHistory } from './admin/MetadataHistory.js';
import { CommandsSection } from './control/CommandsSection.js';
import { ConfigurationSection } from './control/ConfigurationSection.js';
import { EndpointSoftwareSection } from './software/EndpointSoftwareSection.js';

/** The live events that change what this page shows of the endpoint record and its tokens. */
const RECORD_EVENTS: ReadonlySet<DashboardEvent['type']> = new Set(['endpoint.created', 'endpoint.deleted', 'metadata.updated', 'connectivity.changed', 'token.status-changed']);

// The chart and map libraries load with the first endpoint page, not with the list.
const TimeSeriesSection = lazy(() => import('./time-series/TimeSeriesSection.js').then((m) => ({ default: m.TimeSeriesSection })));

export function EndpointPage({ app, endpointId, server }: { app: string; endpointId: string; server: ServerInfo | undefined }) {
  const [endpoint, setEndpoint] = useState<Endpoint>();
  const [tokens, setTokens] = useState<Token[]>();
  const [loadError, setLoadError] = useState<unknown>(null);
  const [gone, setGone] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const can = useCan();
  const listUrl = `/?app=${encodeURIComponent(app)}`;

  // Set while deleting: a reload then would only find the endpoint gone.
  const deleting = useRef(false);
  const load = useCallback(async () => {
    if (deleting.current) return;
    try {
      const [e, t] = await Promise.all([api.endpoint(endpointId), api.tokens(endpointId)]);
      setEndpoint(e);
      setTokens(t);
      setLoadError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setGone(true);
      else setLoadError(err);
    }
  }, [endpointId]);

  useEffect(() => {
    void load();
  }, [load]);

  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents(
    app,
    (event) => {
      // Telemetry, configurations and commands are their sections' business; they do not change the endpoint record.
      if (event.endpointId !== endpointId || !RECORD_EVENTS.has(event.type)) return;
      if (event.type === 'endpoint.deleted') return setGone(true);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void load(), 100);
    },
    () => void load(),
  );

  const back = (
    <a className="back" href={listUrl} onClick={linkHandler(listUrl)}>
      ← All endpoints
    </a>
  );

  if (gone) {
    return (
      <section className="card">
        {back}
        <h1>Endpoint not found</h1>
        <p>
          Endpoint <code>{endpointId}</code> does not exist (any more).
        </p>
      </section>
    );
  }

  return (
    <div className="endpoint-page">
      {back}
      <ErrorMessage error={loadError} />
      <section className="card" aria-labelledby="endpoint-title">
        <div className="widget-head">
          <h1 id="endpoint-title" className="endpoint-title">
            <span className="muted">Endpoint</span> <span data-testid="endpoint-id">{endpointId}</span>
          </h1>
          {endpoint && <StatusBadge connected={endpoint.connected} />}
        </div>
        {endpoint && (
          <dl className="facts">
            <div>
              <dt>Application version</dt>
              <dd>{endpoint.appVersion.name}</dd>
            </div>
            <div>
              <dt>Registered</dt>
              <dd>{formatDate(endpoint.createdDate)}</dd>
            </div>
            <div>
              <dt>Metadata updated</dt>
              <dd>{formatDate(endpoint.metadataUpdatedDate)}</dd>
            </div>
          </dl>
        )}
      </section>

      {endpoint && (
        <section className="card" aria-labelledby="connection-title">
          <h2 id="connection-title">Connection</h2>
          <dl className="facts" data-testid="connection-history">
            <div>
              <dt>State</dt>
              <dd>{endpoint.connected ? 'Online' : 'Offline'}</dd>
            </div>
            <div>
              <dt>Last connect</dt>
              <dd>{endpoint.lastConnectedDate ? formatDate(endpoint.lastConnectedDate) : 'Not recorded'}</dd>
            </div>
            <div>
              <dt>Last disconnect</dt>
              <dd>{endpoint.lastDisconnectedDate ? formatDate(endpoint.lastDisconnectedDate) : 'Not recorded'}</dd>
            </div>
            <div>
              <dt>Last seen</dt>
              <dd title={formatDate(endpoint.lastSeen)}>{formatAgo(endpoint.lastSeen)}</dd>
            </div>
          </dl>
        </section>
      )}

      {endpoint && (
        <Suspense fallback={<p className="card muted">Loading telemetry…</p>}>
          <TimeSeriesSection app={app} endpointId={endpointId} />
        </Suspense>
      )}
      {endpoint && <CommandsSection app={app} endpointId={endpointId} />}
      {endpoint && <ConfigurationSection app={app} endpoint={endpoint} />}
      {endpoint && <EndpointSoftwareSection app={app} endpointId={endpointId} />}
      {endpoint && <MetadataSection endpointId={endpointId} metadata={endpoint.metadata ?? {}} onChanged={load} />}
      {endpoint && tokens && <TokensSection endpoint={endpoint} tokens={tokens} server={server} onChanged={load} />}
      {endpoint && <MetadataHistory endpointId={endpointId} version={endpoint.metadataUpdatedDate} />}

      {endpoint && can.writeEndpoints && (
        <section className="card danger-zone" aria-labelledby="delete-title">
          <h2 id="delete-title">Delete endpoint</h2>
          <p>Deleting removes the endpoint, its metadata and its tokens. Devices using its tokens are refused from then on.</p>
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete endpoint…
          </button>
        </section>
      )}

      {confirmDelete && (
        <ConfirmDialog
          title="Delete this endpoint?"
          confirmLabel="Delete endpoint"
          onClose={() => setConfirmDelete(false)}
          onConfirm={async () => {
            deleting.current = true;
            clearTimeout(timer.current);
            try {
              await api.deleteEndpoint(endpointId);
            } catch (err) {
              deleting.current = false;
              throw err;
            }
            navigate(listUrl);
          }}
        >
          <p>
            Endpoint <code>{endpointId}</code>, its metadata and tokens will be deleted. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
