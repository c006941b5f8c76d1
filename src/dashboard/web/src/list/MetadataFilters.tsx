import { useEffect, useId, useState } from 'react';
import { api } from '../api.js';
import { Field } from '../ui.js';

/** One metadata filter as the endpoint list API takes it: `key~text`, `key=value` or `key`. */
export interface MetadataFilter {
  key: string;
  op: 'contains' | 'equals' | 'exists';
  value: string;
}

export function filterExpression(f: MetadataFilter): string {
  return f.op === 'exists' ? f.key : `${f.key}${f.op === 'contains' ? '~' : '='}${f.value}`;
}

export function parseFilterExpression(text: string): MetadataFilter | undefined {
  const m = /^([^~=]+)([~=])([\s\S]*)$/.exec(text);
  if (!m) return text.trim() ? { key: text.trim(), op: 'exists', value: '' } : undefined;
  return { key: m[1] ?? '', op: m[2] === '~' ? 'contains' : 'equals', value: m[3] ?? '' };
}

const OP_TEXT: Record<MetadataFilter['op'], string> = { contains: 'contains', equals: 'equals', exists: 'is set' };

/**
 * Filters on any metadata key, not only the shown columns. Applied filters are chips (in the URL,
 * as `f=`), so a filtered view can be shared and exported as it is.
 */
export function MetadataFilters({ app, filters, onChange }: { app: string; filters: MetadataFilter[]; onChange: (next: MetadataFilter[]) => void }) {
  const [keys, setKeys] = useState<string[]>([]);
  const [draft, setDraft] = useState<MetadataFilter>({ key: '', op: 'contains', value: '' });
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const listId = useId();

  useEffect(() => {
    if (!open) return;
    api.metadataKeys(app).then((r) => setKeys(r.keys), () => setKeys([]));
  }, [app, open]);

  const add = () => {
    const key = draft.key.trim();
    if (!key) return;
    // The list API takes several filters as one comma-separated parameter.
    if (draft.op !== 'exists' && draft.value.includes(',')) {
      setProblem('A filter value cannot contain a comma; filter on a part of the value without it, or use the search box.');
      return;
    }
    setProblem(null);
    onChange([...filters, { ...draft, key }]);
    setDraft({ key: '', op: draft.op, value: '' });
  };

  return (
    <div className="metadata-filters">
      <div className="filter-chips">
        {filters.map((f, index) => (
          <span className="chip" key={`${filterExpression(f)}-${index}`} data-testid="filter-chip">
            <code>{f.key}</code> {OP_TEXT[f.op]} {f.op !== 'exists' && <code>{f.value === '' ? '""' : f.value}</code>}
            <button
              type="button"
              className="chip-remove"
              aria-label={`Remove filter ${f.key} ${OP_TEXT[f.op]} ${f.value}`.trim()}
              onClick={() => onChange(filters.filter((_, i) => i !== index))}
            >
              ×
            </button>
          </span>
        ))}
        <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide metadata filter' : 'Filter by metadata…'}
        </button>
      </div>
      {open && (
        <form
          className="filter-form"
          aria-label="Add a metadata filter"
          onSubmit={(event) => {
            event.preventDefault();
            add();
          }}
        >
          <Field label="Metadata key">
            {(id) => <input id={id} list={listId} required value={draft.key} onChange={(e) => setDraft({ ...draft, key: e.target.value })} />}
          </Field>
          <datalist id={listId}>
            {keys.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          <Field label="Condition">
            {(id) => (
              <select id={id} value={draft.op} onChange={(e) => setDraft({ ...draft, op: e.target.value as MetadataFilter['op'] })}>
                <option value="contains">contains</option>
                <option value="equals">equals</option>
                <option value="exists">is set</option>
              </select>
            )}
          </Field>
          {draft.op !== 'exists' && (
            <Field label="Value">
              {(id) => <input id={id} value={draft.value} onChange={(e) => setDraft({ ...draft, value: e.target.value })} />}
            </Field>
          )}
          <button type="submit" className="secondary">
            Add filter
          </button>
          {problem && (
            <p className="error" role="alert">
              {problem}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
