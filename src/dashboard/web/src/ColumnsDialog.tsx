import { useEffect, useId, useRef, useState } from 'react';
import { api, type WidgetColumn, type WidgetConfig } from './api.js';
import { Dialog, ErrorMessage, useAction, Field } from './ui.js';

const KEY_PATTERN = /^[a-zA-Z0-9_]+$/;

/** Add, remove, reorder and rename the metadata columns of the Endpoint List widget. */
export function ColumnsDialog({ app, widget, onClose, onSaved }: { app: string; widget: WidgetConfig; onClose: () => void; onSaved: (widget: WidgetConfig) => void }) {
  // `uid` keeps each row's DOM (and keyboard focus) with its column when rows move.
  const [columns, setColumns] = useState<Array<WidgetColumn & { uid: number }>>(() => widget.columns.map((c, i) => ({ ...c, uid: i })));
  const nextUid = useRef(widget.columns.length);
  const [keys, setKeys] = useState<string[]>([]);
  const [validation, setValidation] = useState<string | null>(null);
  const save = useAction();
  const listId = useId();

  useEffect(() => {
    api.metadataKeys(app).then((r) => setKeys(r.keys), () => setKeys([]));
  }, [app]);

  const change = (index: number, patch: Partial<WidgetColumn>) => setColumns(columns.map((c, i) => (i === index ? { ...c, ...patch } : c)));
  const move = (index: number, by: number) => {
    const next = [...columns];
    const [item] = next.splice(index, 1);
    if (item) next.splice(index + by, 0, item);
    setColumns(next);
  };

  return (
    <Dialog title="Configure columns" onClose={onClose} wide>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const problem = columns.find((c) => !KEY_PATTERN.test(c.key));
          if (problem) return setValidation(`Metadata key "${problem.key}" is invalid: use letters, digits and _ only.`);
          const seen = new Set<string>();
          const twice = columns.find((c) => (seen.has(c.key) ? true : (seen.add(c.key), false)));
          if (twice) return setValidation(`Metadata key "${twice.key}" is used by two columns.`);
          setValidation(null);
          void save.run(async () => onSaved(await api.saveWidget(app, { ...widget, columns: columns.map((c) => ({ key: c.key, header: c.header.trim() || c.key })) })));
        }}
      >
        <p className="hint">Endpoint ID, Registered and Connection are always shown. Each extra column shows one metadata key. Every operator of {app} sees the same columns.</p>
        <datalist id={listId}>
          {keys.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {columns.length === 0 && <p className="muted">No metadata columns yet.</p>}
        <ol className="edit-list">
          {columns.map((column, index) => (
            <li key={column.uid} className="edit-row">
              <Field label="Metadata key">
                {(id) => (
                  <input id={id} required list={listId} value={column.key} aria-label={`Metadata key of column ${index + 1}`} onChange={(e) => change(index, { key: e.target.value.trim() })} />
                )}
              </Field>
              <Field label="Header">
                {(id) => (
                  <input id={id} value={column.header} aria-label={`Header of column ${index + 1}`} placeholder={column.key} onChange={(e) => change(index, { header: e.target.value })} />
                )}
              </Field>
              <div className="row-buttons">
                <button type="button" className="icon-button" aria-label={`Move column ${column.key || index + 1} up`} disabled={index === 0} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" className="icon-button" aria-label={`Move column ${column.key || index + 1} down`} disabled={index === columns.length - 1} onClick={() => move(index, 1)}>
                  ↓
                </button>
                <button type="button" className="icon-button danger" aria-label={`Remove column ${column.key || index + 1}`} onClick={() => setColumns(columns.filter((_, i) => i !== index))}>
                  ✕
                </button>
              </div>
            </li>
          ))}
        </ol>
        <button type="button" className="secondary" onClick={() => setColumns([...columns, { key: '', header: '', uid: nextUid.current++ }])}>
          Add column
        </button>
        {validation && (
          <p className="error" role="alert">
            {validation}
          </p>
        )}
        <ErrorMessage error={save.error} />
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={save.busy}>
            Save columns
          </button>
        </div>
      </form>
    </Dialog>
  );
}
