import type { Change } from './diff.js';

/** A list of "key: before → after" lines; absent sides read as "(none)". */
export function Changes({ changes }: { changes: Change[] }) {
  if (changes.length === 0) return <span className="muted">no change</span>;
  return (
    <ul className="changes">
      {changes.map((c) => (
        <li key={c.path}>
          <code>{c.path}</code>:{' '}
          {c.before === undefined ? <span className="muted">(none)</span> : <del>{c.before}</del>} →{' '}
          {c.after === undefined ? <span className="muted">(removed)</span> : <ins>{c.after}</ins>}
        </li>
      ))}
    </ul>
  );
}
