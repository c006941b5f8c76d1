import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { ApiError, type Endpoint } from '../api.js';
import { formatDate } from '../format.js';
import { useLiveEvents } from '../live.js';
import { ErrorMessage, Field, useAction } from '../ui.js';
import { ConfirmDialog, TableHead } from '../widgets.js';
import { useCan } from '../admin/roles.js';
import { configurationsApi, DEFAULT_NAME, NAME_PATTERN, parseJson, pretty, type ConfigStatus, type LoadedConfiguration } from './control-api.js';
import { JsonText } from './JsonText.js';

/** What the page knows of one configuration name: the endpoint's own, and its version's default. */
interface Loaded {
  name: string;
  own: LoadedConfiguration | null;
  fallback: LoadedConfiguration | null;
}

const label = (name: string) => (name === DEFAULT_NAME ? 'Default' : name);
const shortId = (configId: string) => (configId.length > 12 ? `${configId.slice(0, 12)}…` : configId);

/**
 * The endpoint's configurations (Kaa ECR, 7/CMP): the default and named ones, edited as JSON and
 * saved conditionally (If-Match), the version default it falls back to, and what the device made of
 * each delivery, updated live when the device reports.
 */
export function ConfigurationSection({ app, endpoint }: { app: string; endpoint: Endpoint }) {
  const { endpointId } = endpoint;
  const version = endpoint.appVersion.name;
  const can = useCan();
  const [names, setNames] = useState<string[]>([DEFAULT_NAME]);
  const [name, setName] = useState(DEFAULT_NAME);
  const [loaded, setLoaded] = useState<Loaded>();
  const [text, setText] = useState('');
  const [loadError, setLoadError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [saved, setSaved] = useState('');
  const [confirmRemove, setConfirmRemove] = useState(false);
  const save = useAction();
  const problemId = useId();

  // The lists first: a GET of a configuration that does not exist would be a 404 in the console.
  const generation = useRef(0);
  const load = useCallback(
    async (which: string) => {
      const id = ++generation.current;
      try {
        const lists = await configurationsApi.lists(endpointId, version);
        const [own, fallback] = await Promise.all([
          lists.own.includes(which) ? configurationsApi.own(endpointId, version, which) : null,
          lists.defaults.includes(which) ? configurationsApi.versionDefault(version, which) : null,
        ]);
        if (id !== generation.current) return;
        // A name added here but not saved yet stays selectable.
        setNames((current) => [...new Set([DEFAULT_NAME, ...[...lists.own, ...lists.defaults].sort(), ...current])]);
        setLoaded({ name: which, own, fallback });
        // A new configuration of its own starts from what the endpoint runs now.
        setText(pretty((own ?? fallback)?.configuration.config ?? {}));
        setConflict(false);
        setLoadError(null);
      } catch (err) {
        if (id === generation.current) setLoadError(err);
      }
    },
    [endpointId, version],
  );

  useEffect(() => {
    setSaved('');
    save.setError(null);
    void load(name);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the save state’s setter is stable; listing it would reset the error on every render
  }, [load, name]);

  const statuses = useStatuses(app, endpointId);

  const parsed = parseJson(text);
  const current = loaded?.name === name ? loaded : undefined;
  const own = current?.own ?? null;
  const unchanged = own !== null && 'value' in parsed && JSON.stringify(parsed.value) === JSON.stringify(own.configuration.config);

  const onSave = () =>
    save.run(async () => {
      if (!current || 'error' in parsed) return;
      setSaved('');
      try {
        const stored = await configurationsApi.save(endpointId, version, name, parsed.value, current.own?.etag);
        setLoaded({ ...current, own: stored });
        setSaved(`Saved (ID ${shortId(stored.configuration.configId)}). ${endpoint.connected ? 'The device gets it now.' : 'The device gets it when it connects.'}`);
        setNames((list) => (list.includes(name) ? list : [...list, name]));
        statuses.reloadSoon();
      } catch (err) {
        if (err instanceof ApiError && err.status === 412) setConflict(true);
        else throw err;
      }
    });

  return (
    <section className="card" aria-labelledby="configuration-title" data-testid="configuration-section">
      <div className="widget-head">
        <h2 id="configuration-title">Configuration</h2>
        <span className="muted">Application version {version}</span>
      </div>

      <div className="config-names" role="group" aria-label="Configuration name">
        {names.map((n) => (
          <button key={n} type="button" className="secondary seg" aria-pressed={n === name} onClick={() => setName(n)}>
            {label(n)}
          </button>
        ))}
      </div>
      {can.writeEndpoints && <AddName names={names} onAdd={(n) => (setNames((list) => [...list, n]), setName(n))} />}

      <ErrorMessage error={loadError} />
      {current && (
        <>
          <p className="config-summary" data-testid="configuration-summary">
            {own ? (
              <>
                The endpoint&apos;s own {name === DEFAULT_NAME ? 'default configuration' : <>configuration <code>{name}</code></>}, ID{' '}
                <code title={own.configuration.configId}>{shortId(own.configuration.configId)}</code>, updated {formatDate(own.configuration.updatedDate)}.
              </>
            ) : current.fallback ? (
              <>No configuration of its own by this name: the endpoint runs its version&apos;s default (below). Saving gives it one of its own.</>
            ) : (
              <>No configuration by this name, neither its own nor a version default: the device gets none. Saving gives it one.</>
            )}
          </p>
          {/* A viewer has nothing to start from when the endpoint has no configuration of its own. */}
          {(own || can.writeEndpoints) && (
            <Field label={own ? `${label(name)} configuration (JSON)` : `New ${label(name).toLowerCase()} configuration of its own (JSON)`}>
              {(id) => (
                <textarea
                  id={id}
                  className="json-editor"
                  spellCheck={false}
                  rows={Math.min(20, Math.max(6, text.split('\n').length + 1))}
                  value={text}
                  readOnly={!can.writeEndpoints}
                  aria-invalid={'error' in parsed}
                  aria-describedby={'error' in parsed ? problemId : undefined}
                  onChange={(e) => {
                    setText(e.target.value);
                    setSaved('');
                  }}
                />
              )}
            </Field>
          )}
          {'error' in parsed && (
            <p id={problemId} className="error" role="alert">
              {parsed.error}
            </p>
          )}
          {conflict && (
            <div className="notice" role="alert" data-testid="configuration-conflict">
              Someone changed this configuration since you loaded it, so it was not saved. Reload to see theirs (your edits here are then lost; copy them first if you need them).{' '}
              <button type="button" className="secondary" onClick={() => void load(name)}>
                Reload configuration
              </button>
            </div>
          )}
          <ErrorMessage error={save.error} />
          {can.writeEndpoints && (
            <div className="config-actions">
              <button type="button" disabled={save.busy || 'error' in parsed || unchanged || conflict} onClick={() => void onSave()}>
                {save.busy ? 'Saving…' : 'Save configuration'}
              </button>
              <button type="button" className="secondary" disabled={save.busy} onClick={() => void load(name)}>
                Revert
              </button>
              {own && (
                <button type="button" className="secondary danger" disabled={save.busy} onClick={() => setConfirmRemove(true)}>
                  Remove…
                </button>
              )}
              <span role="status" className="copy-status">
                {saved}
              </span>
            </div>
          )}
          {!own && current.fallback && (
            <div className="config-effective" data-testid="configuration-effective">
              <h3>
                Effective: the version default, ID <code title={current.fallback.configuration.configId}>{shortId(current.fallback.configuration.configId)}</code>
              </h3>
              <JsonText value={current.fallback.configuration.config} label={`Version default ${label(name).toLowerCase()} configuration`} />
            </div>
          )}
        </>
      )}

      <StatusHistory statuses={statuses.data} error={statuses.error} />

      {confirmRemove && own && (
        <ConfirmDialog
          title="Remove this configuration?"
          confirmLabel="Remove configuration"
          onClose={() => setConfirmRemove(false)}
          onConfirm={async () => {
            try {
              await configurationsApi.remove(endpointId, version, name, own.etag);
            } catch (err) {
              if (err instanceof ApiError && err.status === 412) {
                setConfirmRemove(false);
                setConflict(true);
                return;
              }
              throw err;
            }
            setConfirmRemove(false);
            await load(name);
            statuses.reloadSoon();
          }}
        >
          <p>
            The endpoint&apos;s own {label(name).toLowerCase()} configuration is removed. {current?.fallback ? 'It falls back to its version’s default, which is sent to the device.' : 'There is no version default: the device is told it has none.'}
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function AddName({ names, onAdd }: { names: string[]; onAdd: (name: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="add-key"
      onSubmit={(event) => {
        event.preventDefault();
        const name = value.trim();
        if (!NAME_PATTERN.test(name)) return setError('A configuration name has 1 to 64 characters from A-Z a-z 0-9 _ - (7/CMP).');
        if (names.includes(name)) return setError(`"${name}" is already in the list: select it above.`);
        setError(null);
        setValue('');
        onAdd(name);
      }}
    >
      <Field label="New named configuration">{(id) => <input id={id} value={value} placeholder="e.g. network" onChange={(e) => setValue(e.target.value)} />}</Field>
      <button type="submit" className="secondary">
        Add
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}

/** The endpoint's delivery statuses, newest first; a device's report reloads them at once. */
function useStatuses(app: string, endpointId: string) {
  const [data, setData] = useState<ConfigStatus[]>();
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const id = ++generation.current;
    try {
      const page = await configurationsApi.statuses(endpointId);
      if (id !== generation.current) return;
      setData(page.content);
      setError(null);
    } catch (err) {
      if (id === generation.current) setError(err);
    }
  }, [endpointId]);
  useEffect(() => {
    void reload();
  }, [reload]);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  useLiveEvents(
    app,
    (event) => {
      if (event.type === 'configuration.confirmed' && event.endpointId === endpointId) void reload();
    },
    () => void reload(),
  );
  return {
    data,
    error,
    /** Now, and once more shortly: the dispatch to a connected device is recorded just after the save answers. */
    reloadSoon: () => {
      void reload();
      clearTimeout(timer.current);
      timer.current = setTimeout(() => void reload(), 1000);
    },
  };
}

function StatusHistory({ statuses, error }: { statuses: ConfigStatus[] | undefined; error: unknown }) {
  return (
    <div className="config-history">
      <h3 id="config-history-title">Delivery status</h3>
      <ErrorMessage error={error} />
      {statuses && statuses.length === 0 && <p className="muted">Nothing delivered yet. A configuration is sent when the device connects or asks for it.</p>}
      {statuses && statuses.length > 0 && (
        <div className="table-wrap">
          <table className="stack" aria-labelledby="config-history-title" data-testid="configuration-statuses">
            <TableHead columns={['Name', 'Status', 'Configuration ID', 'Dispatched', 'Confirmed', 'Code', 'Reason']} />
            <tbody>
              {statuses.map((s) => (
                <tr key={`${s.appVersionName}/${s.name}/${s.configId}`} data-config-id={s.configId} data-name={s.name}>
                  <td data-label="Name">{label(s.name)}</td>
                  <td data-label="Status">
                    <span className={`status status-${s.status.toLowerCase()}`}>{s.status}</span>
                  </td>
                  <td data-label="Configuration ID">
                    <code title={s.configId}>{shortId(s.configId)}</code>
                  </td>
                  <td data-label="Dispatched">{formatDate(s.lastDispatchedDate)}</td>
                  <td data-label="Confirmed">{formatDate(s.lastConfirmedDate)}</td>
                  <td data-label="Code">{s.confirmationStatusCode ?? '—'}</td>
                  <td data-label="Reason">{s.confirmationReasonPhrase ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
