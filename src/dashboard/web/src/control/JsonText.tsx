import type { JsonValue } from '../api.js';
import { pretty } from './control-api.js';

/** A JSON document shown read-only, indented; focusable so keyboard users can scroll a long one. */
export function JsonText({ value, label, testId }: { value: JsonValue; label: string; testId?: string }) {
  return (
    <pre className="json-view" aria-label={label} tabIndex={0} data-testid={testId}>
      <code>{pretty(value)}</code>
    </pre>
  );
}

/** A payload in a table cell: compact JSON, strings in quotes so text and JSON stay distinguishable. */
export function PayloadCell({ value }: { value: JsonValue | undefined }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const text = JSON.stringify(value);
  return <code className="payload">{text.length > 300 ? `${text.slice(0, 300)}…` : text}</code>;
}
