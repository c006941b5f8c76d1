import { useRef, useState } from 'react';
import type { JsonValue } from '../api.js';
import { parseJson, pretty } from '../control/control-api.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { SubmitActions } from '../widgets.js';
import { softwareApi, STRATEGIES, type RolloutStrategy, type SoftwareFilter, type SoftwareRecord } from './software-api.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const STRATEGY_HELP: Record<RolloutStrategy, string> = {
  suspended: 'Offered to nobody when devices ask; only a rollout offers it.',
  general: 'Offered to every device whose version it upgrades, when the device asks or connects.',
  targeted: 'Offered to the devices one of its filters names, from the filter\'s date.',
};

/** "1.0.0, 1.1.x, >=1.0.0 <2" → the list; a lone "(none)" means devices that never reported one (""). */
function parseUpgradable(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (s === '(none)' ? '' : s));
}

const showUpgradable = (list: string[]) => list.map((s) => (s === '' ? '(none)' : s)).join(', ');

/** Create a version (no `existing`) or edit one: Kaa OTAO's fields, the specification as JSON. */
export function VersionDialog({ app, existing, onClose, onSaved }: { app: string; existing?: SoftwareRecord; onClose: () => void; onSaved: (record: SoftwareRecord) => void }) {
  const [version, setVersion] = useState(existing?.version ?? '');
  const [upgradable, setUpgradable] = useState(existing ? showUpgradable(existing.upgradableFrom) : '*');
  const [strategy, setStrategy] = useState<RolloutStrategy>(existing?.rolloutStrategy ?? 'suspended');
  const [spec, setSpec] = useState(existing ? pretty(existing.specification) : '{}');
  const [metadata, setMetadata] = useState(existing ? pretty(existing.metadata ?? {}) : '{}');
  const [filters, setFilters] = useState<SoftwareFilter[]>(existing?.filters ?? []);
  const action = useAction();
  const specParsed = parseJson(spec);
  const metadataParsed = parseJson(metadata);

  const save = () =>
    action.run(async () => {
      const v = version.trim();
      if (!SEMVER.test(v)) throw new Error(`"${v}" is not a semantic version; write e.g. 1.2.0 or 2.0.0-beta.1.`);
      if ('error' in specParsed) throw new Error(`Specification: ${specParsed.error}`);
      if ('error' in metadataParsed) throw new Error(`Metadata: ${metadataParsed.error}`);
      const from = parseUpgradable(upgradable);
      if (from.length === 0) throw new Error('Name the versions it upgrades, e.g. 1.0.0, 1.1.x or * for any; (none) for devices that never reported one.');
      if (strategy === 'targeted' && filters.length === 0) throw new Error('A targeted version needs at least one filter; add one or choose another strategy.');
      const input = { upgradableFrom: from, specification: specParsed.value as JsonValue, metadata: metadataParsed.value as JsonValue, rolloutStrategy: strategy, filters };
      onSaved(existing ? await softwareApi.update(app, existing.version, input) : await softwareApi.create(app, v, input));
    });

  return (
    <Dialog title={existing ? `Edit version ${existing.version}` : 'New software version'} onClose={onClose} wide>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <Field label="Version (semver)">
          {(id) => <input id={id} required autoComplete="off" value={version} readOnly={existing !== undefined} placeholder="e.g. 1.2.0" onChange={(e) => setVersion(e.target.value)} />}
        </Field>
        <Field label="Upgradable from (versions or ranges, comma-separated)">
          {(id) => <input id={id} autoComplete="off" value={upgradable} placeholder="e.g. 1.1.0, 1.0.x, >=0.9.0 <1" onChange={(e) => setUpgradable(e.target.value)} />}
        </Field>
        <p className="hint">* any version; (none) devices that never reported one.</p>
        <Field label="Rollout strategy">
          {(id) => (
            <select id={id} value={strategy} onChange={(e) => setStrategy(e.target.value as RolloutStrategy)}>
              {STRATEGIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        <p className="hint">{STRATEGY_HELP[strategy]} A rollout offers the version whatever its strategy.</p>
        {strategy === 'targeted' && <FiltersEditor filters={filters} onChange={setFilters} />}
        <Field label="Specification (JSON the device gets as config)">
          {(id) => <textarea id={id} className="json-editor" spellCheck={false} rows={6} value={spec} aria-invalid={'error' in specParsed} onChange={(e) => setSpec(e.target.value)} />}
        </Field>
        {'error' in specParsed && <p className="error">{specParsed.error}</p>}
        <p className="hint">An uploaded package adds "package": {'{'}url, sha256, size, fileName{'}'} to what devices get, so keep the specification a JSON object.</p>
        <Field label="Metadata (JSON, for operators)">
          {(id) => <textarea id={id} className="json-editor" spellCheck={false} rows={3} value={metadata} aria-invalid={'error' in metadataParsed} onChange={(e) => setMetadata(e.target.value)} />}
        </Field>
        {'error' in metadataParsed && <p className="error">{metadataParsed.error}</p>}
        <ErrorMessage error={action.error} />
        <SubmitActions onCancel={onClose} disabled={action.busy}>
          {action.busy ? 'Saving…' : existing ? 'Save version' : 'Create version'}
        </SubmitActions>
      </form>
    </Dialog>
  );
}

/** A filter's Endpoint List search with one part changed; empty parts left out (no query: every endpoint). */
function withQuery(f: SoftwareFilter, key: 'search' | 'filter', value: string | string[]): SoftwareFilter {
  const query: Record<string, JsonValue> = { ...(f.query ?? {}) };
  if (value.length === 0) delete query[key];
  else query[key] = value;
  const { query: _old, ...rest } = f;
  return Object.keys(query).length > 0 ? { ...rest, query } : rest;
}

function FiltersEditor({ filters, onChange }: { filters: SoftwareFilter[]; onChange: (filters: SoftwareFilter[]) => void }) {
  const change = (i: number, patch: Partial<SoftwareFilter>) => onChange(filters.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  const replace = (i: number, next: SoftwareFilter) => onChange(filters.map((f, j) => (j === i ? next : f)));
  // Row identities, so a row's typed text stays with its filter when another row goes.
  const [keys, setKeys] = useState(() => filters.map((_, i) => i));
  const nextKey = useRef(filters.length);
  return (
    <fieldset className="software-filters">
      <legend>Filters</legend>
      {filters.length === 0 && <p className="muted">No filters yet.</p>}
      {filters.map((f, i) => (
        <div key={keys[i] ?? `extra-${i}`} className="software-filter">
          <Field label={`Filter ${i + 1} ID`}>{(id) => <input id={id} required value={f.filterId} onChange={(e) => change(i, { filterId: e.target.value })} />}</Field>
          <Field label={`Filter ${i + 1} rollout date (UTC)`}>
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                value={f.rolloutDate ? f.rolloutDate.slice(0, 16) : ''}
                onChange={(e) => change(i, { rolloutDate: e.target.value ? `${e.target.value}:00Z` : null })}
              />
            )}
          </Field>
          <Field label={`Filter ${i + 1}: endpoints whose metadata has (search)`}>
            {(id) => <input id={id} value={typeof f.query?.['search'] === 'string' ? f.query['search'] : ''} placeholder="empty: every endpoint" onChange={(e) => replace(i, withQuery(f, 'search', e.target.value))} />}
          </Field>
          <Field label={`Filter ${i + 1}: metadata filters (one a line: key=value, key~text, key)`}>
            {(id) => <QueryLines id={id} initial={Array.isArray(f.query?.['filter']) ? (f.query['filter'] as string[]) : []} onChange={(lines) => replace(i, withQuery(f, 'filter', lines))} />}
          </Field>
          <button type="button" className="secondary" aria-label={`Remove filter ${i + 1}`} onClick={() => {
              setKeys(keys.filter((_, j) => j !== i));
              onChange(filters.filter((_, j) => j !== i));
            }}>
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="secondary"
        onClick={() => {
          setKeys([...keys, nextKey.current++]);
          onChange([...filters, { filterId: '', rolloutDate: null }]);
        }}
      >
        Add filter
      </button>
    </fieldset>
  );
}

/** Lines typed as they are (blank lines too, while typing); the filter gets the non-empty ones. */
function QueryLines({ id, initial, onChange }: { id: string; initial: string[]; onChange: (lines: string[]) => void }) {
  const [text, setText] = useState(initial.join('\n'));
  return (
    <textarea
      id={id}
      rows={2}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
      }}
    />
  );
}
