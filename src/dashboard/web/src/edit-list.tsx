import { ErrorMessage } from './ui.js';
import { SubmitActions } from './widgets.js';

const KEY_PATTERN = /^[a-zA-Z0-9_]+$/;

/** The list with the item at `index` moved `by` places (−1 up, +1 down). */
export function moveItem<T>(items: readonly T[], index: number, by: number): T[] {
  const next = [...items];
  const [item] = next.splice(index, 1);
  if (item !== undefined) next.splice(index + by, 0, item);
  return next;
}

/** What is wrong with the rows' metadata keys (10/EPMP pattern, no key twice), or null. */
export function keyProblem(rows: ReadonlyArray<{ key: string }>, noun: string): string | null {
  const bad = rows.find((r) => !KEY_PATTERN.test(r.key));
  if (bad) return `Metadata key "${bad.key}" is invalid: use letters, digits and _ only.`;
  const seen = new Set<string>();
  const twice = rows.find((r) => (seen.has(r.key) ? true : (seen.add(r.key), false)));
  return twice ? `Metadata key "${twice.key}" is used by two ${noun}s.` : null;
}

/** Move up, move down and remove buttons of one row, named for screen readers and keyboards. */
export function RowButtons({ noun, name, index, count, onMove, onRemove }: { noun: string; name: string; index: number; count: number; onMove: (by: number) => void; onRemove: () => void }) {
  return (
    <div className="row-buttons">
      <button type="button" className="icon-button" aria-label={`Move ${noun} ${name} up`} disabled={index === 0} onClick={() => onMove(-1)}>
        ↑
      </button>
      <button type="button" className="icon-button" aria-label={`Move ${noun} ${name} down`} disabled={index === count - 1} onClick={() => onMove(1)}>
        ↓
      </button>
      <button type="button" className="icon-button danger" aria-label={`Remove ${noun} ${name}`} onClick={onRemove}>
        ✕
      </button>
    </div>
  );
}

/** A list editor's validation message, the save error, and Cancel / Save. */
export function EditListFooter({ validation, error, busy, saveLabel, onClose }: { validation: string | null; error: unknown; busy: boolean; saveLabel: string; onClose: () => void }) {
  return (
    <>
      {validation && (
        <p className="error" role="alert">
          {validation}
        </p>
      )}
      <ErrorMessage error={error} />
      <SubmitActions onCancel={onClose} disabled={busy}>
        {saveLabel}
      </SubmitActions>
    </>
  );
}
