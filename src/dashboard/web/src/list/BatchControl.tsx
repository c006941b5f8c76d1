import { useEffect, useState } from 'react';
import { formatDate } from '../format.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { SubmitActions } from '../widgets.js';
import { CommandFields, EMPTY_COMMAND, readCommandForm, type CommandForm } from '../control/CommandsSection.js';
import { commandsApi, configurationsApi, DEFAULT_NAME, NAME_PATTERN, parseJson, type TaskProgress } from '../control/control-api.js';
import type { BulkResult } from './bulk-api.js';
import type { ListFilters } from './selection.js';

/**
 * Commands and configurations for many endpoints at once (Kaa CEX batch tasks, Kaa ECR batch).
 * Bodies stay well under the server's 1 MiB limit: long selections go in chunks.
 */
const COMMAND_CHUNK = 5000;
const CONFIG_CHUNK = 10_000;

/** A started batch: its tasks (one per chunk) and how many endpoints they address. */
export interface StartedBatch {
  commandType: string;
  taskIds: string[];
  total: number;
}

const plural = (n: number) => `${n.toLocaleString('en')} endpoint${n === 1 ? '' : 's'}`;

export function BatchCommandDialog({
  ids,
  matching,
  onClose,
  onStarted,
}: {
  ids: string[];
  matching: { filters: ListFilters; count: number } | null;
  onClose: () => void;
  onStarted: (batch: StartedBatch) => void;
}) {
  const [form, setForm] = useState<CommandForm>(EMPTY_COMMAND);
  const action = useAction();
  const n = matching?.count ?? ids.length;
  return (
    <Dialog title="Send a command to the selected endpoints" onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            const input = readCommandForm(form);
            // A text payload travels as a JSON string in the batch body.
            if (matching) {
              const task = await commandsApi.batchByQuery(input.type, matching.filters, input.payload, input.ttlSeconds);
              return onStarted({ commandType: input.type, taskIds: [task.taskId], total: task.endpointCount });
            }
            const taskIds: string[] = [];
            for (let i = 0; i < ids.length; i += COMMAND_CHUNK) {
              taskIds.push((await commandsApi.batchByEndpoints(input.type, ids.slice(i, i + COMMAND_CHUNK), input.payload, input.ttlSeconds)).taskId);
            }
            onStarted({ commandType: input.type, taskIds, total: ids.length });
          });
        }}
      >
        <p>
          {matching
            ? `Every endpoint the list's search and filters match (${plural(n)} when selected; the server counts again as it sends) gets the command.`
            : `${plural(n)} get the command.`}{' '}
          Connected devices get it at once, the others when they connect, until its time to live runs out.
        </p>
        <CommandFields form={form} onChange={setForm} />
        <ErrorMessage error={action.error} />
        <SubmitActions onCancel={onClose} disabled={action.busy}>
          {action.busy ? 'Sending…' : `Send to ${plural(n)}`}
        </SubmitActions>
      </form>
    </Dialog>
  );
}

export function BatchConfigDialog({ byVersion, count, onClose, onDone }: { byVersion: Record<string, string[]>; count: number; onClose: () => void; onDone: (result: BulkResult) => void }) {
  const [name, setName] = useState(DEFAULT_NAME);
  const [text, setText] = useState('{}');
  const action = useAction();
  const parsed = parseJson(text);
  return (
    <Dialog title="Set a configuration on the selected endpoints" onClose={onClose} wide>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            const configName = name.trim() || DEFAULT_NAME;
            if (!NAME_PATTERN.test(configName)) throw new Error('A configuration name has 1 to 64 characters from A-Z a-z 0-9 _ - (7/CMP); "default" is the default configuration.');
            if ('error' in parsed) throw new Error(parsed.error);
            let updated = 0;
            for (const [version, ids] of Object.entries(byVersion)) {
              for (let i = 0; i < ids.length; i += CONFIG_CHUNK) {
                updated += (await configurationsApi.setMany({ [version]: ids.slice(i, i + CONFIG_CHUNK) }, configName, parsed.value)).updated;
              }
            }
            onDone({ done: updated, failed: [], summary: `Set the ${configName === DEFAULT_NAME ? 'default' : `"${configName}"`} configuration of ${plural(updated)}.` });
          });
        }}
      >
        <p>
          Each of the {plural(count)} gets this document as its own configuration by that name, replacing the one it has. Connected devices get it at once,
          the others when they connect; each endpoint page shows what its device made of it.
        </p>
        <Field label='Configuration name ("default" for the default one)'>{(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}</Field>
        <Field label="Configuration (JSON)">
          {(id) => (
            <textarea id={id} className="json-editor" spellCheck={false} rows={10} value={text} aria-invalid={'error' in parsed} onChange={(e) => setText(e.target.value)} />
          )}
        </Field>
        {'error' in parsed && <p className="error">{parsed.error}</p>}
        <ErrorMessage error={action.error} />
        <SubmitActions onCancel={onClose} disabled={action.busy || 'error' in parsed}>
          {action.busy ? 'Working…' : `Set on ${plural(count)}`}
        </SubmitActions>
      </form>
    </Dialog>
  );
}

/** Polls the batch's tasks every second until no command is pending: counts and a bar. */
export function BatchProgress({ batch, onDismiss }: { batch: StartedBatch; onDismiss: () => void }) {
  const [tasks, setTasks] = useState<TaskProgress[]>();
  const [error, setError] = useState<unknown>(null);
  const key = batch.taskIds.join(',');
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const now = await Promise.all(batch.taskIds.map((id) => commandsApi.task(id)));
        if (stopped) return;
        setTasks(now);
        setError(null);
        if (now.some((t) => t.pending > 0)) timer = setTimeout(() => void poll(), 1000);
      } catch (err) {
        if (stopped) return;
        setError(err);
        timer = setTimeout(() => void poll(), 1000);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // The task IDs are the batch; a new batch is a new key.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the task IDs are the batch: a new batch is a new key
  }, [key]);

  const sum = (pick: (t: TaskProgress) => number) => (tasks ?? []).reduce((total, t) => total + pick(t), 0);
  const total = tasks ? sum((t) => t.endpointCount) : batch.total;
  const executed = sum((t) => t.executed);
  const expired = sum((t) => t.expired);
  const pending = tasks ? sum((t) => t.pending) : total;
  const done = tasks !== undefined && pending === 0;
  const expires = tasks?.map((t) => t.expiresAt).sort().at(-1);
  return (
    <div className="notice batch-progress" role="status" data-testid="batch-progress">
      <strong>
        Command <code>{batch.commandType}</code> to {plural(total)}: {done ? 'finished' : 'in progress'}
      </strong>
      <progress max={Math.max(total, 1)} value={executed + expired} aria-label={`Command ${batch.commandType}: finished commands`} />
      <span className="batch-counts">
        <span data-testid="batch-executed">Executed: {executed}</span>
        <span data-testid="batch-expired">Expired: {expired}</span>
        <span data-testid="batch-pending">Pending: {pending}</span>
      </span>
      {!done && expires && <span className="hint">Commands not answered by {formatDate(expires)} expire.</span>}
      <ErrorMessage error={error} />
      <span>
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      </span>
    </div>
  );
}
