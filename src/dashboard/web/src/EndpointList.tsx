import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { AddEndpointDialog } from './AddEndpointDialog.js';
import { api, type AppVersion, type DashboardEvent, type Endpoint, type ServerInfo, type WidgetConfig } from './api.js';
import { ColumnsDialog } from './ColumnsDialog.js';
import { EmptyState } from './EmptyState.js';
import { FormDialog } from './FormDialog.js';
import { formatAgo, formatDate, formatValue } from './format.js';
import { useLiveEvents } from './live.js';
import { endpointUrl, linkHandler, navigate } from './router.js';
import { ErrorMessage, StatusBadge, Field } from './ui.js';
import { Options } from './widgets.js';
import { LatestValueCell, useLatestValues } from './time-series/latest-values.js';
import { DefinitionsDialog } from './time-series/DefinitionsDialog.js';
import { useCan } from './admin/roles.js';
import { BulkBar } from './list/BulkActions.js';
import { ExportLinks, ImportDialog } from './list/ExportImport.js';
import { filterExpression, MetadataFilters, parseFilterExpression, type MetadataFilter } from './list/MetadataFilters.js';
import { useSelection } from './list/selection.js';
import { MAX_MATCHING, SelectAllMatching } from './list/SelectAllMatching.js';
import { StartRolloutDialog } from './software/StartRolloutDialog.js';
import { useSoftwareVersions } from './software/software-column.js';

const PAGE_SIZES = [10, 20, 50, 100];

interface Column {
  /** The API sort field. */
  field: string;
  header: string;
  render: (endpoint: Endpoint) => ReactNode;
  /** Time-series columns cannot be sorted by the server. */
  sortable?: false;
}

const BASE_COLUMNS: Column[] = [
  { field: 'endpointId', header: 'Endpoint ID', render: (e) => e.endpointId },
  { field: 'createdDate', header: 'Registered', render: (e) => formatDate(e.createdDate) },
  {
    field: 'connected',
    header: 'Connection',
    render: (e) => (
      <span className="connection">
        <StatusBadge connected={e.connected} />
        <span className="muted">{e.connected ? `since ${formatAgo(e.connectivityTs)}` : `last seen ${formatAgo(e.lastSeen)}`}</span>
      </span>
    ),
  },
];

interface ListState {
  version: string;
  search: string;
  connection: '' | 'online' | 'offline';
  sort: string;
  page: number;
  /** Metadata filters (`f=` in the URL). */
  filters: MetadataFilter[];
}

function readState(query: URLSearchParams): ListState {
  const connection = query.get('state');
  return {
    version: query.get('version') ?? '',
    search: query.get('q') ?? '',
    connection: connection === 'online' || connection === 'offline' ? connection : '',
    sort: query.get('sort') ?? 'createdDate,desc',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
    filters: query.getAll('f').flatMap((f) => parseFilterExpression(f) ?? []),
  };
}

function writeState(app: string, state: ListState): string {
  const q = new URLSearchParams({ app });
  if (state.version) q.set('version', state.version);
  if (state.search) q.set('q', state.search);
  if (state.connection) q.set('state', state.connection);
  if (state.sort !== 'createdDate,desc') q.set('sort', state.sort);
  if (state.page > 1) q.set('page', String(state.page));
  for (const f of state.filters) q.append('f', filterExpression(f));
  return `/?${q.toString()}`;
}

export function EndpointList({ app, server, query }: { app: string; server: ServerInfo | undefined; query: URLSearchParams }) {
  const state = readState(query);
  const [widget, setWidget] = useState<WidgetConfig>();
  const [versions, setVersions] = useState<AppVersion[]>([]);
  const [page, setPage] = useState<{ total: number; rows: Endpoint[] }>();
  const [loadError, setLoadError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<'add' | 'columns' | 'form' | 'time-series' | 'import' | 'rollout' | null>(null);
  const [searchText, setSearchText] = useState(state.search);
  const [pageSizeError, setPageSizeError] = useState<unknown>(null);

  const update = (patch: Partial<ListState>) => navigate(writeState(app, { ...state, page: 1, ...patch }), { replace: true });

  useEffect(() => {
    Promise.all([api.widget(app), api.versions(app)]).then(([w, v]) => {
      setWidget(w);
      setVersions(v);
    }, setLoadError);
  }, [app]);

  // Search as you type, without a request per keystroke.
  useEffect(() => {
    if (searchText === state.search) return;
    const timer = setTimeout(() => update({ search: searchText.trim() }), 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a change of the typed text starts the timer
  }, [searchText]);

  const seriesColumns = widget?.columns.filter((c) => c.source === 'time-series').map((c) => c.key) ?? [];
  const latest = useLatestValues(app, page?.rows.map((r) => r.endpointId) ?? [], seriesColumns);
  const software = useSoftwareVersions(app, page?.rows ?? []);
  // What devices run (cmx_ota): after the base columns, before the configured ones.
  const softwareColumn: Column = {
    // The server sorts by it in semver order (unreported last).
    field: 'softwareVersion',
    header: 'Software version',
    render: (e) => {
      const version = software.get(e.endpointId);
      return version === undefined ? '' : version === null ? <span className="muted">—</span> : <span data-testid="software-version-cell">{version}</span>;
    },
  };
  // Where any version of the application has cmx_ota (software updates).
  const base = versions.some((v) => v.extensions?.includes('cmx_ota')) ? [...BASE_COLUMNS, softwareColumn] : BASE_COLUMNS;
  const columns: Column[] = widget
    ? [
        ...base,
        ...widget.columns.map((c): Column =>
          c.source === 'time-series'
            ? { field: `time-series.${c.key}`, header: c.header, sortable: false, render: (e: Endpoint) => <LatestValueCell point={latest.get(e.endpointId)?.get(c.key)} /> }
            : { field: `metadata.${c.key}`, header: c.header, render: (e: Endpoint) => formatValue(e.metadata?.[c.key]) },
        ),
      ]
    : base;
  const pageSize = widget?.pageSize ?? 20;
  const can = useCan();
  const selection = useSelection();
  const filterList = state.filters.map(filterExpression);

  // What the list shows, whatever the page: also what export and "select all matching" take.
  const listFilters = {
    applicationName: app,
    ...(state.version ? { applicationVersionName: state.version } : {}),
    sort: state.sort,
    // Search looks in every metadata value, not only the shown columns.
    ...(state.search ? { search: state.search } : {}),
    ...(filterList.length ? { filter: filterList } : {}),
    ...(state.connection ? { connected: state.connection === 'online' } : {}),
  };

  const request = useRef(0);
  const load = useCallback(async () => {
    if (!widget) return;
    const id = ++request.current;
    try {
      const result = await api.endpoints({ ...listFilters, offset: (state.page - 1) * pageSize, limit: pageSize });
      // A slower earlier request must not overwrite a newer answer.
      if (id !== request.current) return;
      setPage({ total: result.totalElements, rows: result.content });
      setLoadError(null);
    } catch (err) {
      if (id === request.current) setLoadError(err);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the filter list is compared by its text, not by array identity
  }, [app, widget, state.version, state.page, state.sort, state.search, state.connection, filterList.join('\n'), pageSize]);

  useEffect(() => {
    void load();
  }, [load]);

  // Deletions can leave the current page past the end: go to the last page that has rows.
  useEffect(() => {
    if (page && page.rows.length === 0 && page.total > 0 && state.page > 1) update({ page: Math.ceil(page.total / pageSize) });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- runs when a new page arrives, not when the update function changes
  }, [page]);

  // Live updates: patch the visible row at once, and reload the page when the change may move rows.
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // The timer may fire after the page, sort or page size changed: it loads with the state of then.
  const latestLoad = useRef(load);
  latestLoad.current = load;
  const scheduleReload = () => {
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = undefined;
      void latestLoad.current();
    }, 250);
  };
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  useLiveEvents(
    app,
    (event: DashboardEvent) => {
      // A new version reported reorders a list sorted by it (the cell itself follows in useSoftwareVersions).
      if (event.type === 'software.reported' && state.sort.startsWith('softwareVersion,')) return scheduleReload();
      if (event.type !== 'endpoint.created' && event.type !== 'endpoint.deleted' && event.type !== 'metadata.updated' && event.type !== 'connectivity.changed') return;
      if (event.type === 'endpoint.created' || event.type === 'endpoint.deleted') return scheduleReload();
      const patch: Partial<Endpoint> =
        event.type === 'metadata.updated'
          ? { metadata: event.metadata as Endpoint['metadata'], metadataUpdatedDate: event.at }
          : {
              connected: event.connected,
              connectivityTs: event.at,
              ...(event.connected ? { lastConnectedDate: event.at, lastSeen: event.at } : { lastDisconnectedDate: event.at }),
            };
      setPage((current) => current && { ...current, rows: current.rows.map((row) => (row.endpointId === event.endpointId ? { ...row, ...patch } : row)) });
      const sortField = state.sort.split(',')[0] ?? '';
      const reorders =
        event.type === 'metadata.updated'
          ? state.search !== '' || sortField.startsWith('metadata') || !page?.rows.some((r) => r.endpointId === event.endpointId)
          : state.connection !== '' || ['connected', 'connectivityTs', 'lastSeen'].includes(sortField) || !page?.rows.some((r) => r.endpointId === event.endpointId);
      if (reorders) scheduleReload();
    },
    () => void load(),
  );

  const [sortField, sortDirection] = state.sort.split(',');
  const toggleSort = (field: string) =>
    update({ sort: `${field},${sortField === field && sortDirection === 'asc' ? 'desc' : 'asc'}` });

  const filtered = state.search !== '' || state.connection !== '' || state.version !== '' || state.filters.length > 0;
  const pages = page ? Math.max(1, Math.ceil(page.total / pageSize)) : 1;
  const first = page && page.total > 0 ? (state.page - 1) * pageSize + 1 : 0;
  const last = page ? Math.min(page.total, state.page * pageSize) : 0;

  return (
    <section className="card widget" aria-labelledby="list-title">
      <div className="widget-head">
        <h1 id="list-title">Endpoints</h1>
        <div className="widget-actions">
          {can.writeEndpoints && (
            <button type="button" onClick={() => setDialog('add')}>
              Add endpoint
            </button>
          )}
          {can.writeSettings && (
            <>
              <button type="button" className="secondary" onClick={() => setDialog('columns')} disabled={!widget}>
                Configure columns
              </button>
              <button type="button" className="secondary" onClick={() => setDialog('form')}>
                Edit creation form
              </button>
              <button type="button" className="secondary" onClick={() => setDialog('time-series')}>
                Time series
              </button>
            </>
          )}
          {can.writeEndpoints && (
            <button type="button" className="secondary" onClick={() => setDialog('import')}>
              Import CSV…
            </button>
          )}
        </div>
      </div>

      <div className="filters" role="search">
        <Field className="field grow" label="Search">
          {(id) => (
            <input id={id} type="search" value={searchText} placeholder="Endpoint ID or any metadata value" onChange={(e) => setSearchText(e.target.value)} />
          )}
        </Field>
        <Field label="Connection">
          {(id) => (
            <select id={id} value={state.connection} onChange={(e) => update({ connection: e.target.value as ListState['connection'] })}>
              <option value="">All</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
            </select>
          )}
        </Field>
        <Field label="Version">
          {(id) => (
            <select id={id} value={state.version} onChange={(e) => update({ version: e.target.value })}>
              <option value="">All versions</option>
              <Options values={versions.map((v) => v.name)} />
            </select>
          )}
        </Field>
      </div>
      <MetadataFilters app={app} filters={state.filters} onChange={(filters) => update({ filters })} />
      <div className="list-tools">
        <ExportLinks filters={listFilters} />
        {can.writeEndpoints && page && page.total > 0 && (
          <button type="button" className="secondary" onClick={() => setDialog('rollout')}>
            Roll out software to {filtered ? 'these' : 'all'} {page.total.toLocaleString('en')}…
          </button>
        )}
      </div>
      {can.writeEndpoints && (
        <BulkBar app={app} selected={selection.ids} matching={selection.matching} byVersion={selection.byVersion} onClear={selection.clear} onDone={() => void load()} />
      )}
      {can.writeEndpoints && page && page.rows.length > 0 && page.total > page.rows.length && page.rows.every((r) => selection.has(r.endpointId)) && selection.ids.length < Math.min(page.total, MAX_MATCHING) && (
        <SelectAllMatching filters={listFilters} total={page.total} onSelect={(endpoints) => selection.selectMatching(endpoints, listFilters)} />
      )}

      <ErrorMessage error={loadError} />

      {page && page.total === 0 && !filtered ? (
        <EmptyState server={server} {...(can.writeEndpoints ? { onAdd: () => setDialog('add') } : {})} />
      ) : (
        <>
          <div className="table-wrap">
            <table className="endpoints" aria-labelledby="list-title" aria-busy={!page}>
              <thead>
                <tr>
                  {can.writeEndpoints && (
                    <th scope="col" className="select-cell">
                      <input
                        type="checkbox"
                        aria-label="Select all endpoints on this page"
                        checked={!!page && page.rows.length > 0 && page.rows.every((r) => selection.has(r.endpointId))}
                        onChange={(e) => selection.setMany(page?.rows ?? [], e.target.checked)}
                      />
                    </th>
                  )}
                  {columns.map((c) => {
                    const active = sortField === c.field;
                    return (
                      <th key={c.field} scope="col" aria-sort={active ? (sortDirection === 'desc' ? 'descending' : 'ascending') : 'none'}>
                        {c.sortable === false ? c.header : (
                        <button type="button" className="sort" onClick={() => toggleSort(c.field)} aria-label={`Sort by ${c.header}`}>
                          {c.header}
                          <span aria-hidden="true" className="sort-mark">
                            {active ? (sortDirection === 'desc' ? '▼' : '▲') : '↕'}
                          </span>
                        </button>
                        )}
                      </th>
                    );
                  })}
                </tr>
              </thead>
              <tbody>
                {page?.rows.map((row) => (
                  <tr key={row.endpointId} className="row-link" data-endpoint-id={row.endpointId} onClick={() => navigate(endpointUrl(app, row.endpointId))}>
                    {can.writeEndpoints && (
                      <td className="select-cell" onClick={(e) => e.stopPropagation()}>
                        <input
                          type="checkbox"
                          aria-label={`Select ${row.endpointId}`}
                          checked={selection.has(row.endpointId)}
                          onChange={(e) => selection.setMany([row], e.target.checked)}
                        />
                      </td>
                    )}
                    {columns.map((c, index) => (
                      <td key={c.field} data-label={c.header}>
                        {index === 0 ? (
                          <a href={endpointUrl(app, row.endpointId)} onClick={(e) => { e.stopPropagation(); linkHandler(endpointUrl(app, row.endpointId))(e); }}>
                            {row.endpointId}
                          </a>
                        ) : (
                          c.render(row)
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
                {page && page.rows.length === 0 && (
                  <tr>
                    <td colSpan={columns.length + (can.writeEndpoints ? 1 : 0)} className="empty">
                      No endpoints match.{' '}
                      <button type="button" className="link" onClick={() => { setSearchText(''); update({ search: '', connection: '', version: '', filters: [] }); }}>
                        Clear search and filters
                      </button>
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <span role="status">{page ? `${first}–${last} of ${page.total.toLocaleString()}` : 'Loading…'}</span>
            <Field className="inline" label="Rows per page">
              {(id) => (
              <select
                id={id}
                value={pageSize}
                onChange={(e) => {
                  if (!widget) return;
                  const next = { ...widget, pageSize: Number(e.target.value) };
                  setPageSizeError(null);
                  // The page size is a shared setting: those who may not change settings change only their view.
                  if (!can.writeSettings) return void (setWidget(next), update({}));
                  api.saveWidget(app, next).then((saved) => { setWidget(saved); update({}); }, setPageSizeError);
                }}
              >
                {PAGE_SIZES.map((size) => (
                  <option key={size} value={size}>
                    {size}
                  </option>
                ))}
              </select>
              )}
            </Field>
            <ErrorMessage error={pageSizeError} />
            <button type="button" className="secondary" disabled={state.page <= 1} onClick={() => update({ page: state.page - 1 })}>
              Previous page
            </button>
            <span>
              Page {state.page} of {pages}
            </span>
            <button type="button" className="secondary" disabled={state.page >= pages} onClick={() => update({ page: state.page + 1 })}>
              Next page
            </button>
          </nav>
        </>
      )}

      {dialog === 'add' && <AddEndpointDialog app={app} versions={versions} server={server} onClose={() => setDialog(null)} onCreated={() => void load()} />}
      {dialog === 'columns' && widget && (
        <ColumnsDialog app={app} widget={widget} onClose={() => setDialog(null)} onSaved={(w) => { setWidget(w); setDialog(null); }} />
      )}
      {dialog === 'form' && <FormDialog app={app} onClose={() => setDialog(null)} />}
      {dialog === 'time-series' && <DefinitionsDialog app={app} onClose={() => setDialog(null)} />}
      {dialog === 'rollout' && page && <StartRolloutDialog app={app} preset={{ kind: 'list', filters: listFilters, count: page.total }} onClose={() => setDialog(null)} />}
      {dialog === 'import' && <ImportDialog app={app} versions={versions} onClose={() => setDialog(null)} onImported={() => void load()} />}
    </section>
  );
}
