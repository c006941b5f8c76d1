import { useEffect, useId, useRef, useState } from 'react';
import { api, type WidgetColumn, type WidgetConfig } from './api.js';
import { EditListFooter, RowButtons, keyProblem, moveItem } from './edit-list.js';
import { Dialog, useAction, Field } from './ui.js';
import { epts } from './time-series/epts.js';
import { seriesColumnProblem } from './time-series/columns.js';

/** Add, remove, reorder and rename the metadata columns of the Endpoint List widget. */
export function ColumnsDialog({ app, widget, onClose, onSaved }: { app: string; widget: WidgetConfig; onClose: () => void; onSaved: (widget: WidgetConfig) => void }) {
  // `uid` keeps each row's DOM (and keyboard focus) with its column when rows move.
  const [columns, setColumns] = useState<Array<WidgetColumn & { uid: number }>>(() => widget.columns.map((c, i) => ({ ...c, uid: i })));
  const nextUid = useRef(widget.columns.length);
  const [keys, setKeys] = useState<string[]>([]);
  const [seriesNames, setSeriesNames] = useState<string[]>([]);
  const seriesListId = useId();
  const [validation, setValidation] = useState<string | null>(null);
  const save = useAction();
  const listId = useId();

  useEffect(() => {
    api.metadataKeys(app).then((r) => setKeys(r.keys), () => setKeys([]));
    epts.config(app).then((c) => setSeriesNames((c[app] ?? []).map((s) => s.name)), () => setSeriesNames([]));
  }, [app]);

  const change = (index: number, patch: Partial<WidgetColumn>) => setColumns(columns.map((c, i) => (i === index ? { ...c, ...patch } : c)));
  return (
    <Dialog title="Configure columns" onClose={onClose} wide>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const problem = keyProblem(columns.filter((c) => c.source !== 'time-series'), 'column') ?? seriesColumnProblem(columns);
          setValidation(problem);
          if (problem) return;
          void save.run(async () => onSaved(await api.saveWidget(app, { ...widget, columns: columns.map((c) => ({ key: c.key, header: c.header.trim() || c.key, ...(c.source === 'time-series' ? { source: c.source } : {}) })) })));
        }}
      >
        <p className="hint">Endpoint ID, Registered and Connection are always shown. Each extra column shows one metadata key, or the latest value of a time series (updated live). Every operator of {app} sees the same columns.</p>
        <datalist id={seriesListId}>
          {seriesNames.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        <datalist id={listId}>
          {keys.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {columns.length === 0 && <p className="muted">No metadata columns yet.</p>}
        <ol className="edit-list">
          {columns.map((column, index) => (
            <li key={column.uid} className="edit-row">
              <Field label="Shows">
                {(id) => (
                  <select id={id} value={column.source ?? 'metadata'} aria-label={`What column ${index + 1} shows`} onChange={(e) => change(index, { source: e.target.value === 'time-series' ? 'time-series' : 'metadata' })}>
                    <option value="metadata">Metadata key</option>
                    <option value="time-series">Time series, latest value</option>
                  </select>
                )}
              </Field>
              {column.source === 'time-series' ? (
                <Field label="Time series">
                  {(id) => (
                    <input id={id} required list={seriesListId} value={column.key} aria-label={`Time series of column ${index + 1}`} onChange={(e) => change(index, { key: e.target.value.trim() })} />
                  )}
                </Field>
              ) : (
              <Field label="Metadata key">
                {(id) => (
                  <input id={id} required list={listId} value={column.key} aria-label={`Metadata key of column ${index + 1}`} onChange={(e) => change(index, { key: e.target.value.trim() })} />
                )}
              </Field>
              )}
              <Field label="Header">
                {(id) => (
                  <input id={id} value={column.header} aria-label={`Header of column ${index + 1}`} placeholder={column.key} onChange={(e) => change(index, { header: e.target.value })} />
                )}
              </Field>
              <RowButtons noun="column" name={column.key || String(index + 1)} index={index} count={columns.length} onMove={(by) => setColumns(moveItem(columns, index, by))} onRemove={() => setColumns(columns.filter((_, i) => i !== index))} />
            </li>
          ))}
        </ol>
        <button type="button" className="secondary" onClick={() => setColumns([...columns, { key: '', header: '', uid: nextUid.current++ }])}>
          Add column
        </button>
        <EditListFooter validation={validation} error={save.error} busy={save.busy} saveLabel="Save columns" onClose={onClose} />
      </form>
    </Dialog>
  );
}
