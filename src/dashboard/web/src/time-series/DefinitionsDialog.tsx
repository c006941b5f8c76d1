import { useEffect, useRef, useState } from 'react';
import { api } from '../api.js';
import { EditListFooter, RowButtons, moveItem } from '../edit-list.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { DEFAULT_EXTRACTION, definitionsApi, type SeriesDefinition, type TimeSeriesDocument, type TimestampFormat, type VersionExtraction } from './definitions-api.js';

type Row = SeriesDefinition & { uid: number };

/** What is wrong with the definitions before they are sent (the server checks again), or null. */
function definitionsProblem(rows: readonly SeriesDefinition[], retentionDays: number): string | null {
  const seen = new Set<string>();
  for (const row of rows) {
    if (!row.name.trim()) return 'Every time series needs a name.';
    if (row.name.startsWith('auto~')) return `"${row.name}": names starting with auto~ are kept for extract-all series.`;
    if (seen.has(row.name)) return `Time series "${row.name}" is defined twice.`;
    seen.add(row.name);
    if (!row.valueField.trim()) return `Time series "${row.name}" needs a value field (the JSON path of its value).`;
    const tags = new Set<string>();
    for (const tag of row.tagFields) {
      if (!tag.name.trim()) return `Time series "${row.name}" has a tag field without a name.`;
      if (tags.has(tag.name)) return `Time series "${row.name}" has tag "${tag.name}" twice.`;
      tags.add(tag.name);
    }
  }
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 36_500) return 'Keep data for 1 to 36,500 days.';
  return null;
}

/**
 * The time series of one application (Kaa EPTS definitions): each series' value field and tag
 * fields, how long data is kept, and per application version how samples are read (timestamp,
 * extract-all). The same document as the config file's Kaa blocks and the REST API.
 */
export function DefinitionsDialog({ app, onClose }: { app: string; onClose: () => void }) {
  const [rows, setRows] = useState<Row[]>();
  const [retention, setRetention] = useState('90');
  const [versions, setVersions] = useState<Record<string, VersionExtraction>>({});
  const [versionNames, setVersionNames] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [validation, setValidation] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const nextUid = useRef(0);
  const save = useAction();

  const take = (doc: TimeSeriesDocument) => {
    setRows(doc.timeSeries.map((s) => ({ ...s, tagFields: s.tagFields.map((t) => ({ ...t, required: t.required === true })), uid: nextUid.current++ })));
    setRetention(String(doc.retentionDays));
    setVersions(doc.versions ?? {});
  };

  useEffect(() => {
    Promise.all([definitionsApi.get(app), api.versions(app)]).then(([doc, v]) => {
      take(doc);
      setVersionNames(v.map((x) => x.name));
    }, setLoadError);
  }, [app]);

  const change = (index: number, patch: Partial<SeriesDefinition>) => rows && setRows(rows.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  const extraction = (version: string) => versions[version] ?? DEFAULT_EXTRACTION;
  const changeVersion = (version: string, patch: { extractAll?: boolean; timestamp?: Partial<VersionExtraction['timestamp']> }) =>
    setVersions({ ...versions, [version]: { ...extraction(version), ...patch, timestamp: { ...extraction(version).timestamp, ...(patch.timestamp ?? {}) } } });

  return (
    <Dialog title="Time series definitions" onClose={onClose} wide>
      <ErrorMessage error={loadError} />
      {!rows && !loadError && <p className="muted">Loading…</p>}
      {rows && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setSaved(false);
            const retentionDays = Number(retention);
            const problem = definitionsProblem(rows, retentionDays);
            setValidation(problem);
            if (problem) return;
            void save.run(async () => {
              const doc = await definitionsApi.save(app, {
                retentionDays,
                timeSeries: rows.map((r) => ({
                  name: r.name.trim(),
                  valueField: r.valueField.trim(),
                  tagFields: r.tagFields.map((t) => ({ name: t.name.trim(), required: t.required, ...(t.path ? { path: t.path } : {}) })),
                })),
                versions,
              });
              take(doc);
              setSaved(true);
            });
          }}
        >
          <p className="hint">
            Each time series takes its value from one field of the device's data samples; tag fields are stored beside the value (for example latitude and longitude, which put the
            series on the Endpoint Location map). A sample lacking a required tag adds no point. Paths are JSON paths such as <code>temperature</code> or <code>$.engine.temp</code>.
          </p>
          <p className="hint" data-testid="definitions-file-rule">
            Edits made here are kept across restarts. If Tether starts with a config file whose <code>kaa.applications</code> block names this application, that block
            replaces these definitions only when the block itself has changed since it was last applied (the server log says which one won).
          </p>
          {rows.length === 0 && <p className="muted">No time series defined: only extract-all series (auto~&lt;field&gt;) are recorded.</p>}
          <ol className="edit-list">
            {rows.map((row, index) => (
              <li key={row.uid} className="edit-row ts-def-row">
                <Field label="Name">{(id) => <input id={id} required value={row.name} aria-label={`Name of time series ${index + 1}`} onChange={(e) => change(index, { name: e.target.value })} />}</Field>
                <Field label="Value field">{(id) => <input id={id} required value={row.valueField} aria-label={`Value field of time series ${index + 1}`} onChange={(e) => change(index, { valueField: e.target.value })} />}</Field>
                <RowButtons noun="time series" name={row.name || String(index + 1)} index={index} count={rows.length} onMove={(by) => setRows(moveItem(rows, index, by))} onRemove={() => setRows(rows.filter((_, i) => i !== index))} />
                <div className="ts-tags">
                  {row.tagFields.map((tag, t) => (
                    <div key={t} className="ts-tag">
                      <Field label="Tag field">
                        {(id) => (
                          <input id={id} value={tag.name} aria-label={`Tag ${t + 1} of time series ${index + 1}`} onChange={(e) => change(index, { tagFields: row.tagFields.map((x, i) => (i === t ? { ...x, name: e.target.value } : x)) })} />
                        )}
                      </Field>
                      <label className="check">
                        <input type="checkbox" checked={tag.required} onChange={(e) => change(index, { tagFields: row.tagFields.map((x, i) => (i === t ? { ...x, required: e.target.checked } : x)) })} />
                        Required
                      </label>
                      <button type="button" className="icon-button danger" aria-label={`Remove tag ${tag.name || t + 1} of time series ${row.name || index + 1}`} onClick={() => change(index, { tagFields: row.tagFields.filter((_, i) => i !== t) })}>
                        ✕
                      </button>
                    </div>
                  ))}
                  <button type="button" className="link" onClick={() => change(index, { tagFields: [...row.tagFields, { name: '', required: false }] })}>
                    Add tag field
                  </button>
                </div>
              </li>
            ))}
          </ol>
          <button type="button" className="secondary" onClick={() => setRows([...rows, { name: '', valueField: '', tagFields: [], uid: nextUid.current++ }])}>
            Add time series
          </button>

          <h3 className="ts-def-head">Retention</h3>
          <Field className="field ts-retention" label="Keep data for (days)">
            {(id) => <input id={id} type="number" min={1} max={36500} value={retention} onChange={(e) => setRetention(e.target.value)} />}
          </Field>

          <h3 className="ts-def-head">Reading samples, per application version</h3>
          {versionNames.map((version) => {
            const x = extraction(version);
            return (
              <fieldset key={version} className="ts-version">
                <legend>{version}</legend>
                <Field label="Timestamp path">{(id) => <input id={id} value={x.timestamp.path} onChange={(e) => changeVersion(version, { timestamp: { path: e.target.value } })} />}</Field>
                <Field label="Timestamp format">
                  {(id) => (
                    <select id={id} value={x.timestamp.format} onChange={(e) => changeVersion(version, { timestamp: { format: e.target.value as TimestampFormat } })}>
                      <option value="millis-unix-epoch">Milliseconds since 1970 (millis-unix-epoch)</option>
                      <option value="seconds-unix-epoch">Seconds since 1970 (seconds-unix-epoch)</option>
                      <option value="iso-8601">ISO-8601 text</option>
                    </select>
                  )}
                </Field>
                <Field label="Without a timestamp">
                  {(id) => (
                    <select id={id} value={x.timestamp.fallbackStrategy} onChange={(e) => changeVersion(version, { timestamp: { fallbackStrategy: e.target.value === 'skip' ? 'skip' : 'server-timestamp' } })}>
                      <option value="server-timestamp">Use the time the server received it</option>
                      <option value="skip">Skip the sample</option>
                    </select>
                  )}
                </Field>
                <label className="check">
                  <input type="checkbox" checked={x.extractAll} onChange={(e) => changeVersion(version, { extractAll: e.target.checked })} />
                  Extract all: every numeric or boolean field also becomes a series auto~&lt;field&gt;
                </label>
              </fieldset>
            );
          })}
          {saved && (
            <p className="notice" role="status">
              Saved. New samples are read with these definitions.
            </p>
          )}
          <EditListFooter validation={validation} error={save.error} busy={save.busy} saveLabel="Save definitions" onClose={onClose} />
        </form>
      )}
    </Dialog>
  );
}
