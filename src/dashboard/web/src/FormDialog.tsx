import { useEffect, useRef, useState } from 'react';
import { api, type FormField } from './api.js';
import { EditListFooter, RowButtons, keyProblem, moveItem } from './edit-list.js';
import { Dialog, ErrorMessage, Field, useAction } from './ui.js';

/** The fields of the Add endpoint form: each fills one metadata key of the new endpoint. */
export function FormDialog({ app, onClose }: { app: string; onClose: () => void }) {
  // `uid` keeps each row's DOM (and keyboard focus) with its field when rows move.
  const [fields, setFields] = useState<Array<FormField & { uid: number }>>();
  const nextUid = useRef(0);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [validation, setValidation] = useState<string | null>(null);
  const save = useAction();

  useEffect(() => {
    api.form(app).then((f) => setFields(f.fields.map((field) => ({ ...field, uid: nextUid.current++ }))), setLoadError);
  }, [app]);

  const change = (index: number, patch: Partial<FormField>) => setFields(fields?.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  return (
    <Dialog title="Edit creation form" onClose={onClose} wide>
      <ErrorMessage error={loadError} />
      {fields && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const problem = keyProblem(fields, 'field');
            setValidation(problem);
            if (problem) return;
            void save.run(async () => {
              await api.saveForm(app, { fields: fields.map(({ uid: _uid, ...f }) => ({ ...f, label: f.label.trim() || f.key })) });
              onClose();
            });
          }}
        >
          <p className="hint">Each field becomes a metadata key of endpoints created with the Add endpoint button in {app}.</p>
          {fields.length === 0 && <p className="muted">The form has no custom fields yet.</p>}
          <ol className="edit-list">
            {fields.map((field, index) => (
              <li key={field.uid} className="edit-row">
                <Field label="Label">
                  {(id) => (
                    <input id={id} required value={field.label} aria-label={`Label of field ${index + 1}`} onChange={(e) => change(index, { label: e.target.value })} />
                  )}
                </Field>
                <Field label="Metadata key">
                  {(id) => (
                    <input id={id} required value={field.key} aria-label={`Metadata key of field ${index + 1}`} onChange={(e) => change(index, { key: e.target.value.trim() })} />
                  )}
                </Field>
                <Field label="Type">
                  {(id) => (
                    <select id={id} value={field.type} aria-label={`Type of field ${index + 1}`} onChange={(e) => change(index, { type: e.target.value as FormField['type'] })}>
                      <option value="string">Text</option>
                      <option value="number">Number</option>
                      <option value="boolean">Yes/no</option>
                    </select>
                  )}
                </Field>
                <label className="check">
                  <input type="checkbox" checked={field.required} aria-label={`Field ${index + 1} is required`} onChange={(e) => change(index, { required: e.target.checked })} />
                  <span>Required</span>
                </label>
                <RowButtons noun="field" name={field.key || String(index + 1)} index={index} count={fields.length} onMove={(by) => setFields(moveItem(fields, index, by))} onRemove={() => setFields(fields.filter((_, i) => i !== index))} />
              </li>
            ))}
          </ol>
          <button type="button" className="secondary" onClick={() => setFields([...fields, { key: '', label: '', type: 'string', required: false, uid: nextUid.current++ }])}>
            Add field
          </button>
          <EditListFooter validation={validation} error={save.error} busy={save.busy} saveLabel="Save form" onClose={onClose} />
        </form>
      )}
    </Dialog>
  );
}
