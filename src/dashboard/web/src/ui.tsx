import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api.js';

/** A label bound to its control by id (a wrapping label would fold a select's options into its name). */
export function Field({ label, className = 'field', children }: { label: ReactNode; className?: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

/** Shown next to the control whose action failed; read out by screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError && error.status > 0 ? ` (${error.code})` : '';
  return (
    <p className="error" role="alert">
      {text}
      {code && <span className="error-code">{code}</span>}
    </p>
  );
}

/**
 * A modal built on the native <dialog>: the browser traps focus, Escape closes it and focus
 * returns to the opener, which keeps every dialog usable by keyboard.
 */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" aria-label="Close dialog" onClick={onClose}>
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}

async function copyText(text: string): Promise<void> {
  // navigator.clipboard exists only in secure contexts (https or localhost); plain-http servers
  // on a LAN address need the older selection-based copy.
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('Copy is blocked by the browser; select the text and copy it by hand.');
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <span className="copy">
      <button
        type="button"
        className="secondary"
        aria-label={label}
        onClick={() => {
          copyText(text).then(
            () => setState('copied'),
            () => setState('failed'),
          );
        }}
      >
        Copy
      </button>
      <span role="status" className="copy-status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy by hand' : ''}
      </span>
    </span>
  );
}

/** A read-only snippet with its own copy button. */
export function Snippet({ label, text, testId }: { label: string; text: string; testId?: string }) {
  const id = useId();
  return (
    <div className="snippet">
      <div className="snippet-head">
        <span id={id}>{label}</span>
        <CopyButton text={text} label={`Copy ${label.toLowerCase()}`} />
      </div>
      <pre aria-labelledby={id} tabIndex={0} data-testid={testId}>
        <code>{text}</code>
      </pre>
    </div>
  );
}

export function StatusBadge({ connected }: { connected: boolean }) {
  return <span className={connected ? 'badge badge-online' : 'badge badge-offline'}>{connected ? 'Online' : 'Offline'}</span>;
}

/** Runs an async action, tracking busy state and the error to show beside it. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
