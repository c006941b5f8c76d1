import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { CopyButton, Dialog, ErrorMessage, useAction } from './ui.js';

/**
 * Pieces every page and dialog of the dashboard shares, so that a confirmation, a secret shown once
 * or a table header looks and reads the same everywhere (and keeps its accessible names in one place).
 */

/** Data a page loads on mount and again after each change it makes. */
export function useLoad<T>(fetch: () => Promise<T>): { data: T | undefined; error: unknown; reload: () => Promise<void> } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(async () => {
    try {
      setData(await fetch());
      setError(null);
    } catch (err) {
      setError(err);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the fetch is a fixed API call per page: a new closure each render must not reload
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, reload };
}

/** The closing row of a dialog that has done its work; `children` go before Done. */
export function DoneActions({ onClose, children }: { onClose: () => void; children?: ReactNode }) {
  return (
    <div className="dialog-actions">
      {children}
      <button type="button" onClick={onClose}>
        Done
      </button>
    </div>
  );
}

/** Cancel beside a form's submit button, disabled while the form's action runs (or cannot yet). */
export function SubmitActions({ onCancel, disabled, danger, children }: { onCancel: () => void; disabled: boolean; danger?: boolean; children: ReactNode }) {
  return (
    <div className="dialog-actions">
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" {...(danger && { className: 'danger' })} disabled={disabled}>
        {children}
      </button>
    </div>
  );
}

/**
 * "Are you sure?" for a destructive action. Cancel has the focus, so Enter does no harm; a failure
 * stays in the dialog beside the button that caused it.
 */
export function ConfirmDialog({
  title,
  confirmLabel,
  onClose,
  onConfirm,
  children,
}: {
  title: string;
  confirmLabel: string;
  onClose: () => void;
  onConfirm: () => Promise<void>;
  children: ReactNode;
}) {
  const action = useAction();
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <ErrorMessage error={action.error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" autoFocus onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={action.busy} onClick={() => void action.run(onConfirm)}>
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** A secret (token, API key) shown this one time: selected on focus, with its copy button. */
export function SecretField({ id, label, value, copyLabel }: { id: string; label: ReactNode; value: string; copyLabel: string }) {
  return (
    <div className="token-line">
      <label htmlFor={id}>{label}</label>
      <div className="token-box">
        <input id={id} data-testid={id} readOnly value={value} onFocus={(event) => event.currentTarget.select()} />
        <CopyButton text={value} label={copyLabel} />
      </div>
    </div>
  );
}

/** The options of a select whose values are their own labels (roles, versions). */
export function Options({ values }: { values: readonly string[] }) {
  return (
    <>
      {values.map((value) => (
        <option key={value} value={value}>
          {value}
        </option>
      ))}
    </>
  );
}

/** A table's header row; `actions` adds the unlabelled column of row buttons (named for screen readers). */
export function TableHead({ columns, actions }: { columns: readonly string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span className="offscreen">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

/** A token's visible tail, the only part of a secret Tether keeps. */
export const hintTail = (hint: string) => hint.replace(/^…/, '');
