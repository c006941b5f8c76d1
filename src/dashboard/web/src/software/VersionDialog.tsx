import { useState } from 'react';
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

function FiltersEditor({ filters, onChange }: { filters: SoftwareFilter[]; onChange: (filters: SoftwareFilter[]) => void }) {
  const change = (i: number, patch: Partial<SoftwareFilter>) => onChange(filters.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset className="software-filters">
      <legend>Filters</legend>
      {filters.length === 0 && <p className="muted">No filters yet.</p>}
      {filters.map((f, i) => (
        <div key={i} className="software-filter">
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
          <button type="button" className="secondary" aria-label={`Remove filter ${i + 1}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => onChange([...filters, { filterId: '', rolloutDate: null }])}>
        Add filter
      </button>
    </fieldset>
  );
}
