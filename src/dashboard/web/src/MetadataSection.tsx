import { useState } from 'react';
import { api, type JsonValue, type Metadata } from './api.js';
import { formatValue } from './format.js';
import { ErrorMessage, useAction, Field } from './ui.js';
import { useCan } from './admin/roles.js';
import { TableHead } from './widgets.js';

const KEY_PATTERN = /^[a-zA-Z0-9_]+$/;
type Kind = 'text' | 'json';

/** Text is stored as a string; JSON lets an operator store numbers, booleans, objects. */
function parseValue(kind: Kind, text: string): JsonValue {
  if (kind === 'text') return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new Error('The value is not valid JSON. Choose "Text" to store it as a string.');
  }
}

function ValueEditor({ initial, onSave, onCancel, label }: { initial: JsonValue; onSave: (v: JsonValue) => Promise<void>; onCancel: () => void; label: string }) {
  const [kind, setKind] = useState<Kind>(typeof initial === 'string' ? 'text' : 'json');
  const [text, setText] = useState(typeof initial === 'string' ? initial : JSON.stringify(initial));
  const save = useAction();
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save.run(() => onSave(parseValue(kind, text)));
      }}
    >
      <input aria-label={`New value of ${label}`} autoFocus value={text} onChange={(e) => setText(e.target.value)} />
      <select aria-label={`Value type of ${label}`} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
        <option value="text">Text</option>
        <option value="json">JSON</option>
      </select>
      <button type="submit" disabled={save.busy}>
        Save
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
      <ErrorMessage error={save.error} />
    </form>
  );
}

export function MetadataSection({ endpointId, metadata, onChanged }: { endpointId: string; metadata: Metadata; onChanged: () => Promise<void> }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const [newKind, setNewKind] = useState<Kind>('text');
  const add = useAction();
  const remove = useAction();
  const [removing, setRemoving] = useState<string | null>(null);
  const keys = Object.keys(metadata).sort();
  const can = useCan();

  return (
    <section className="card" aria-labelledby="metadata-title">
      <h2 id="metadata-title">Metadata</h2>
      {keys.length === 0 ? (
        <p className="muted">No metadata yet. Devices report it over 10/EPMP; you can add keys here too.</p>
      ) : (
        <div className="table-wrap">
          <table className="kv" data-testid="metadata-table">
            <TableHead columns={['Key', 'Value']} actions />
            <tbody>
              {keys.map((key) => (
                <tr key={key} data-key={key}>
                  <th scope="row">{key}</th>
                  <td className="value">
                    {editing === key ? (
                      <ValueEditor
                        label={key}
                        initial={metadata[key] ?? ''}
                        onCancel={() => setEditing(null)}
                        onSave={async (value) => {
                          await api.putMetadataKey(endpointId, key, value);
                          setEditing(null);
                          await onChanged();
                        }}
                      />
                    ) : (
                      formatValue(metadata[key])
                    )}
                  </td>
                  <td className="actions">
                    {editing !== key && can.writeEndpoints && (
                      <>
                        <button type="button" className="secondary" aria-label={`Edit ${key}`} onClick={() => setEditing(key)}>
                          Edit
                        </button>
                        <button
                          type="button"
                          className="secondary danger"
                          aria-label={`Delete ${key}`}
                          disabled={remove.busy}
                          onClick={() => {
                            setRemoving(key);
                            void remove.run(async () => {
                              await api.deleteMetadataKey(endpointId, key);
                              await onChanged();
                            });
                          }}
                        >
                          Delete
                        </button>
                      </>
                    )}
                    {removing === key && <ErrorMessage error={remove.error} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can.writeEndpoints && (
      <form
        className="add-key"
        aria-label="Add metadata key"
        onSubmit={(event) => {
          event.preventDefault();
          void add.run(async () => {
            const key = newKey.trim();
            if (!KEY_PATTERN.test(key)) throw new Error(`Metadata key "${key}" is invalid: use letters, digits and _ only.`);
            await api.putMetadataKey(endpointId, key, parseValue(newKind, newValue));
            setNewKey('');
            setNewValue('');
            await onChanged();
          });
        }}
      >
        <Field label="New key">
          {(id) => (
            <input id={id} required value={newKey} onChange={(e) => setNewKey(e.target.value)} />
          )}
        </Field>
        <Field className="field grow" label="Value">
          {(id) => (
            <input id={id} value={newValue} onChange={(e) => setNewValue(e.target.value)} />
          )}
        </Field>
        <Field label="Type">
          {(id) => (
            <select id={id} value={newKind} onChange={(e) => setNewKind(e.target.value as Kind)}>
              <option value="text">Text</option>
              <option value="json">JSON</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={add.busy}>
          Add key
        </button>
        <ErrorMessage error={add.error} />
      </form>
      )}
    </section>
  );
}
