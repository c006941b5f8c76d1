import { useCallback, useEffect, useRef, useState } from 'react';
import { formatDate } from '../format.js';
import { navigate } from '../router.js';
import { ErrorMessage, Field } from '../ui.js';
import { adminApi, type AuditEntry, type AuditQuery } from './admin-api.js';
import { Changes } from './Changes.js';
import { diff } from './diff.js';
import './admin.css';

const FILTERS = ['endpointId', 'actor', 'action', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** `datetime-local` values are local wall-clock times; the API wants ISO instants. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function readFilters(query: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? ''])) as Filters;
}

/** Suggestions for the action filter (docs/accounts.md); the field takes any text. */
const KNOWN_ACTIONS = [
  'endpoint.create', 'endpoint.delete', 'metadata.update', 'token.issue', 'token.suspend', 'token.reactivate', 'token.revoke',
  'endpoints.import', 'bulk.delete', 'bulk.suspend-tokens', 'bulk.revoke-tokens', 'bulk.set-metadata', 'bulk.delete-metadata-key',
  'user.create', 'user.set-role', 'user.reset-password', 'user.change-password', 'user.delete', 'user.sign-in',
  'api-key.create', 'api-key.revoke', 'sign-in-throttle.clear', 'dashboard.widget', 'dashboard.form',
];

const ACTOR_KIND: Record<AuditEntry['actor']['kind'], string> = { user: 'user', 'api-key': 'API key', 'bootstrap-key': 'bootstrap key', cli: 'CLI' };

/** The audit log, newest first, filtered by endpoint, user or key, action and time (filters live in the URL). */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const applied = readFilters(query);
  const [draft, setDraft] = useState<Filters>(applied);
  const [entries, setEntries] = useState<AuditEntry[]>();
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const request = useRef(0);
  const key = FILTERS.map((k) => applied[k]).join('\n');

  const params = useCallback((): AuditQuery => {
    const q: AuditQuery = { limit: 50 };
    if (applied.endpointId) q.endpointId = applied.endpointId.trim();
    if (applied.actor) q.actor = applied.actor.trim();
    if (applied.action) q.action = applied.action.trim();
    const from = toIso(applied.from);
    const to = toIso(applied.to);
    if (from) q.from = from;
    if (to) q.to = to;
    return q;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the query is rebuilt only when the applied filters (their key) change
  }, [key]);

  useEffect(() => {
    setDraft(applied);
    const id = ++request.current;
    adminApi.audit(params()).then(
      (slice) => {
        if (id !== request.current) return;
        setEntries(slice.content);
        setNext(slice.next);
        setError(null);
      },
      (err) => id === request.current && setError(err),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reloads when the applied filters (their key) change, not for each render’s new params closure
  }, [key]);

  const apply = (filters: Filters) => {
    const q = new URLSearchParams();
    for (const k of FILTERS) if (filters[k].trim()) q.set(k, filters[k].trim());
    const text = q.toString();
    navigate(`/audit${text ? `?${text}` : ''}`, { replace: true });
  };

  const more = async () => {
    if (next === null) return;
    setLoadingMore(true);
    try {
      const slice = await adminApi.audit({ ...params(), before: next });
      setEntries((current) => [...(current ?? []), ...slice.content]);
      setNext(slice.next);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <div className="admin-page">
      <section className="card" aria-labelledby="audit-title">
        <h1 id="audit-title">Audit log</h1>
        <p className="muted">Every change made by a user or an API key, and every sign-in. Device reports are not here: see an endpoint's metadata history.</p>
        <form
          className="filters"
          role="search"
          aria-label="Filter the audit log"
          onSubmit={(event) => {
            event.preventDefault();
            apply(draft);
          }}
        >
          <Field label="Endpoint ID">{(id) => <input id={id} value={draft.endpointId} onChange={(e) => setDraft({ ...draft, endpointId: e.target.value })} />}</Field>
          <Field label="User or key">{(id) => <input id={id} value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />}</Field>
          <Field label="Action">
            {(id) => <input id={id} list="audit-actions" placeholder="e.g. metadata.update" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} />}
          </Field>
          <datalist id="audit-actions">
            {KNOWN_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <Field label="From">{(id) => <input id={id} type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />}</Field>
          <Field label="To">{(id) => <input id={id} type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />}</Field>
          <div className="filter-buttons">
            <button type="submit">Apply filters</button>
            <button type="button" className="secondary" onClick={() => apply({ endpointId: '', actor: '', action: '', from: '', to: '' })}>
              Clear
            </button>
          </div>
        </form>
        <ErrorMessage error={error} />
        {entries && entries.length === 0 && <p className="empty">No entries match.</p>}
        {entries && entries.length > 0 && (
          <div className="table-wrap">
            <table className="stack audit" data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-action={e.action}>
                    <td data-label="When">{formatDate(e.at)}</td>
                    <td data-label="Who">
                      <span>
                        <strong>{e.actor.name}</strong>{' '}
                        <span className="muted">
                          {e.actor.role ? `${e.actor.role} ` : ''}
                          {ACTOR_KIND[e.actor.kind] ?? e.actor.kind}
                          {e.clientAddress ? ` from ${e.clientAddress}` : ''}
                        </span>
                      </span>
                    </td>
                    <td data-label="Action">
                      <code>{e.action}</code>
                    </td>
                    <td data-label="Target">
                      {e.endpointId ? (
                        <button type="button" className="link" title="Show only this endpoint" onClick={() => apply({ ...applied, endpointId: e.endpointId ?? '' })}>
                          {e.endpointId}
                        </button>
                      ) : (
                        (e.target ?? '')
                      )}
                    </td>
                    <td data-label="Changes">{e.before || e.after ? <Changes changes={diff(e.before, e.after)} /> : <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {next !== null && (
          <div className="pager">
            <button type="button" className="secondary" disabled={loadingMore} onClick={() => void more()}>
              {loadingMore ? 'Loading…' : 'Load older entries'}
            </button>
          </div>
        )}
      </section>
    </div>
  );
}
