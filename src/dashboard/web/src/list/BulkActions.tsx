import { useState } from 'react';
import type { JsonValue } from '../api.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { SubmitActions } from '../widgets.js';
import { runBulk, type BulkAction, type BulkResult } from './bulk-api.js';
import { BatchCommandDialog, BatchConfigDialog, BatchProgress, type StartedBatch } from './BatchControl.js';
import type { ListFilters } from './selection.js';
import { StartRolloutDialog } from '../software/StartRolloutDialog.js';

type Pending = { kind: 'delete' } | { kind: 'suspend' } | { kind: 'revoke' } | { kind: 'set-metadata' };

const TITLES: Record<Pending['kind'], string> = {
  delete: 'Delete the selected endpoints?',
  suspend: 'Suspend the tokens of the selected endpoints?',
  revoke: 'Revoke the tokens of the selected endpoints?',
  'set-metadata': 'Set a metadata key on the selected endpoints',
};

/** Parses a value typed in the form: JSON when asked for and valid, else the text itself. */
function typedValue(text: string, asJson: boolean): JsonValue {
  if (!asJson) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new Error(`${JSON.stringify(text)} is not valid JSON; write e.g. 3, true, "text" or {"a":1}, or untick "Value is JSON".`);
  }
}

/**
 * The bar above the list while endpoints are selected. Every action asks first and names how many
 * endpoints it touches; the result says what was done and what failed, per endpoint.
 */
export function BulkBar({
  app,
  selected,
  matching,
  byVersion,
  onClear,
  onDone,
}: {
  app: string;
  selected: string[];
  /** Set while the selection is exactly "all matching" these filters. */
  matching: { filters: ListFilters; count: number } | null;
  byVersion: () => Record<string, string[]>;
  onClear: () => void;
  onDone: () => void;
}) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [control, setControl] = useState<'command' | 'configuration' | 'rollout' | null>(null);
  const [batch, setBatch] = useState<StartedBatch | null>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [asJson, setAsJson] = useState(false);
  const action = useAction();
  const n = selected.length;
  const noun = n === 1 ? 'endpoint' : 'endpoints';

  const confirm = () =>
    action.run(async () => {
      if (!pending) return;
      const bulk: BulkAction =
        pending.kind === 'set-metadata' ? { kind: 'set-metadata', key: key.trim(), value: typedValue(value, asJson) } : { kind: pending.kind };
      const outcome = await runBulk(bulk, selected);
      setResult(outcome);
      setPending(null);
      if (outcome.failed.length === 0) onClear();
      onDone();
    });

  // Stays mounted after a successful action clears the selection, to report the result.
  if (n === 0 && !result && !batch) return null;
  return (
    <div className="bulk-bar" role="region" aria-label="Bulk actions">
      {n > 0 && (
      <>
      <span className="bulk-count" data-testid="bulk-count">
        {n} {noun} selected
      </span>
      <div className="bulk-buttons">
        <button type="button" className="secondary" onClick={() => setControl('command')}>
          Send command…
        </button>
        <button type="button" className="secondary" onClick={() => setControl('configuration')}>
          Set configuration…
        </button>
        <button type="button" className="secondary" onClick={() => setControl('rollout')}>
          Roll out software…
        </button>
        <button type="button" className="secondary" onClick={() => setPending({ kind: 'set-metadata' })}>
          Set metadata…
        </button>
        <button type="button" className="secondary" onClick={() => setPending({ kind: 'suspend' })}>
          Suspend tokens…
        </button>
        <button type="button" className="secondary danger" onClick={() => setPending({ kind: 'revoke' })}>
          Revoke tokens…
        </button>
        <button type="button" className="danger" onClick={() => setPending({ kind: 'delete' })}>
          Delete…
        </button>
        <button type="button" className="link" onClick={onClear}>
          Clear selection
        </button>
      </div>
      </>
      )}
      {result && (
        <div className={result.failed.length ? 'error' : 'notice'} role="status" data-testid="bulk-result">
          {result.summary}
          {result.failed.length > 0 && (
            <ul>
              {result.failed.slice(0, 10).map((f) => (
                <li key={f.endpointId}>
                  <code>{f.endpointId}</code>: {f.message}
                </li>
              ))}
              {result.failed.length > 10 && <li>… and {result.failed.length - 10} more</li>}
            </ul>
          )}
          {' '}
          <button type="button" className="link" onClick={() => setResult(null)}>
            Dismiss
          </button>
        </div>
      )}
      {batch && <BatchProgress batch={batch} onDismiss={() => setBatch(null)} />}
      {control === 'command' && (
        <BatchCommandDialog
          ids={selected}
          matching={matching}
          onClose={() => setControl(null)}
          onStarted={(started) => {
            setControl(null);
            setBatch(started);
            onClear();
          }}
        />
      )}
      {control === 'rollout' && (
        <StartRolloutDialog
          app={app}
          preset={matching ? { kind: 'list', filters: matching.filters, count: matching.count } : { kind: 'selected', ids: selected }}
          onClose={() => setControl(null)}
        />
      )}
      {control === 'configuration' && (
        <BatchConfigDialog
          byVersion={byVersion()}
          count={n}
          onClose={() => setControl(null)}
          onDone={(outcome) => {
            setControl(null);
            setResult(outcome);
            onClear();
          }}
        />
      )}
      {pending && (
        <Dialog title={TITLES[pending.kind]} onClose={() => { setPending(null); action.setError(null); }}>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void confirm();
            }}
          >
            {pending.kind === 'delete' && (
              <p>
                {n} {noun}, with their metadata and tokens, will be deleted. Devices using their tokens are refused from then on. This cannot be undone.
              </p>
            )}
            {pending.kind === 'suspend' && <p>The active tokens of {n} {noun} will be suspended: their devices are disconnected and refused until a token is reactivated.</p>}
            {pending.kind === 'revoke' && <p>Every token of {n} {noun} will be revoked for good: their devices are disconnected and need new tokens. This cannot be undone.</p>}
            {pending.kind === 'set-metadata' && (
              <>
                <p>
                  The key is set (added or replaced) on {n} {noun}.
                </p>
                <Field label="Metadata key">{(id) => <input id={id} required value={key} onChange={(e) => setKey(e.target.value)} />}</Field>
                <Field label="Value">{(id) => <input id={id} value={value} onChange={(e) => setValue(e.target.value)} />}</Field>
                <label className="check">
                  <input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.target.checked)} /> Value is JSON (number, true/false, object…)
                </label>
              </>
            )}
            <ErrorMessage error={action.error} />
            <SubmitActions onCancel={() => setPending(null)} disabled={action.busy} danger={!(pending.kind === 'set-metadata' || pending.kind === 'suspend')}>
              {action.busy
                ? 'Working…'
                : pending.kind === 'delete'
                  ? `Delete ${n} ${noun}`
                  : pending.kind === 'suspend'
                    ? `Suspend tokens of ${n} ${noun}`
                    : pending.kind === 'revoke'
                      ? `Revoke tokens of ${n} ${noun}`
                      : `Set key on ${n} ${noun}`}
            </SubmitActions>
          </form>
        </Dialog>
      )}
    </div>
  );
}
