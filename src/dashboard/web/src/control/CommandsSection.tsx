import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { JsonValue } from '../api.js';
import { formatDate } from '../format.js';
import { useLiveEvents } from '../live.js';
import { ErrorMessage, Field, useAction } from '../ui.js';
import { TableHead } from '../widgets.js';
import { useCan } from '../admin/roles.js';
import { commandsApi, NAME_PATTERN, parseJson, type Command } from './control-api.js';
import { JsonText, PayloadCell } from './JsonText.js';

/** What the command form holds; shared with the Endpoint List's batch dialog. */
export interface CommandForm {
  type: string;
  payload: string;
  asText: boolean;
  ttlSeconds: string;
}

export const EMPTY_COMMAND: CommandForm = { type: '', payload: '{}', asText: false, ttlSeconds: '60' };

/** The form's values as the API takes them; throws what to fix, in words. */
export function readCommandForm(form: CommandForm): { type: string; payload: JsonValue; ttlSeconds: number } {
  const type = form.type.trim();
  if (!NAME_PATTERN.test(type)) throw new Error('A command type has 1 to 64 characters from A-Z a-z 0-9 _ - (11/CEP), e.g. reboot.');
  const ttlSeconds = Number(form.ttlSeconds);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new Error('Time to live is a whole number of seconds, at least 1.');
  if (form.asText) return { type, payload: form.payload, ttlSeconds };
  const parsed = parseJson(form.payload);
  if ('error' in parsed) throw new Error(`${parsed.error} Tick "Payload is text" to send it as plain text.`);
  return { type, payload: parsed.value, ttlSeconds };
}

/** Type, payload (JSON or text) and time to live: the fields a single and a batch command share. */
export function CommandFields({ form, onChange, children }: { form: CommandForm; onChange: (form: CommandForm) => void; children?: ReactNode }) {
  const problem = form.asText ? null : parseJson(form.payload);
  return (
    <>
      <Field label="Command type">
        {(id) => <input id={id} required autoComplete="off" value={form.type} placeholder="e.g. reboot" onChange={(e) => onChange({ ...form, type: e.target.value })} />}
      </Field>
      <Field label={form.asText ? 'Payload (text)' : 'Payload (JSON)'}>
        {(id) => (
          <textarea
            id={id}
            className="json-editor"
            spellCheck={false}
            rows={4}
            value={form.payload}
            aria-invalid={problem !== null && 'error' in problem}
            onChange={(e) => onChange({ ...form, payload: e.target.value })}
          />
        )}
      </Field>
      {problem && 'error' in problem && form.payload.trim() !== '' && <p className="error">{problem.error}</p>}
      <label className="check">
        <input type="checkbox" checked={form.asText} onChange={(e) => onChange({ ...form, asText: e.target.checked })} /> Payload is text (sent as text/plain)
      </label>
      <div className="command-numbers">
        <Field label="Time to live (seconds)">
          {(id) => <input id={id} type="number" min={1} step={1} value={form.ttlSeconds} onChange={(e) => onChange({ ...form, ttlSeconds: e.target.value })} />}
        </Field>
        {children}
      </div>
    </>
  );
}

/**
 * Commands to the endpoint (Kaa CEX, 11/CEP): send one and wait for the device's answer, and the
 * endpoint's commands with their results, updated when the device reports one.
 */
export function CommandsSection({ app, endpointId }: { app: string; endpointId: string }) {
  const can = useCan();
  const [form, setForm] = useState<CommandForm>(EMPTY_COMMAND);
  const [awaitSeconds, setAwaitSeconds] = useState('5');
  const [result, setResult] = useState<{ command: Command; pending: boolean; waited: number }>();
  const sendAction = useAction();
  const [commands, setCommands] = useState<Command[]>();
  const [listError, setListError] = useState<unknown>(null);

  // A slower earlier reload must not overwrite a newer answer.
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const id = ++generation.current;
    try {
      const list = await commandsApi.list(endpointId);
      if (id !== generation.current) return;
      setCommands(list);
      setListError(null);
    } catch (err) {
      if (id === generation.current) setListError(err);
    }
  }, [endpointId]);
  useEffect(() => {
    void reload();
  }, [reload]);

  useLiveEvents(
    app,
    (event) => {
      if (event.type === 'command.finished' && event.endpointId === endpointId) void reload();
    },
    () => void reload(),
  );

  const onSend = () =>
    sendAction.run(async () => {
      const input = readCommandForm(form);
      const waited = Number(awaitSeconds);
      if (!Number.isInteger(waited) || waited < 0 || waited > 60) throw new Error('Wait for the result is a whole number of seconds from 0 to 60.');
      setResult(undefined);
      // Shown while the request waits, so the list has the new command before its result.
      const sending = commandsApi.send(endpointId, input.type, { value: input.payload, asText: form.asText }, waited, input.ttlSeconds);
      setTimeout(() => void reload(), 300);
      const answer = await sending;
      setResult({ ...answer, waited });
      await reload();
    });

  return (
    <section className="card" aria-labelledby="commands-title" data-testid="commands-section">
      <h2 id="commands-title">Commands</h2>
      {can.writeEndpoints && (
        <form
          className="command-form"
          onSubmit={(event) => {
            event.preventDefault();
            void onSend();
          }}
        >
          <CommandFields form={form} onChange={setForm}>
            <Field label="Wait for the result (seconds, 0–60)">
              {(id) => <input id={id} type="number" min={0} max={60} step={1} value={awaitSeconds} onChange={(e) => setAwaitSeconds(e.target.value)} />}
            </Field>
          </CommandFields>
          <div className="config-actions">
            <button type="submit" disabled={sendAction.busy}>
              {sendAction.busy ? `Waiting up to ${awaitSeconds} s for the device…` : 'Send command'}
            </button>
          </div>
          <ErrorMessage error={sendAction.error} />
        </form>
      )}
      {/* The list is reloaded when a command finishes: the answer shown follows a pending command to its end. */}
      {result && <CommandResult {...result} command={commands?.find((c) => c.commandId === result.command.commandId) ?? result.command} />}

      <h3 id="command-list-title">Sent commands</h3>
      <ErrorMessage error={listError} />
      {commands && commands.length === 0 && <p className="muted">No commands sent to this endpoint yet.</p>}
      {commands && commands.length > 0 && (
        <div className="table-wrap">
          <table className="stack" aria-labelledby="command-list-title" data-testid="commands-table">
            <TableHead columns={['ID', 'Type', 'Status', 'Code', 'Reason', 'Request', 'Response', 'Sent', 'Updated']} />
            <tbody>
              {commands.map((c) => (
                <tr key={c.commandId} data-command-id={c.commandId}>
                  <td data-label="ID">{c.commandId}</td>
                  <td data-label="Type">
                    <code>{c.commandType}</code>
                  </td>
                  <td data-label="Status">
                    <span className={`status status-${c.status.toLowerCase()}`} title={c.status === 'PENDING' ? `Expires ${formatDate(c.expiresAt)}` : undefined}>
                      {c.status}
                    </span>
                  </td>
                  <td data-label="Code">{c.statusCode ?? '—'}</td>
                  <td data-label="Reason">{c.reasonPhrase ?? '—'}</td>
                  <td data-label="Request">
                    <PayloadCell value={c.requestPayload} />
                  </td>
                  <td data-label="Response">
                    <PayloadCell value={c.responsePayload} />
                  </td>
                  <td data-label="Sent">{formatDate(c.createdAt)}</td>
                  <td data-label="Updated">{formatDate(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CommandResult({ command, pending, waited }: { command: Command; pending: boolean; waited: number }) {
  return (
    <div className={command.status === 'EXECUTED' ? 'command-result' : 'command-result notice'} role="status" data-testid="command-result">
      {command.status === 'EXECUTED' && (
        <>
          <p>
            Command <code>{command.commandType}</code> #{command.commandId} <strong>executed</strong>: status code <strong data-testid="command-status-code">{command.statusCode}</strong>
            {command.reasonPhrase ? <> ({command.reasonPhrase})</> : null}.
          </p>
          {command.responsePayload !== null && <JsonText value={command.responsePayload} label="Response payload" testId="command-response" />}
        </>
      )}
      {command.status === 'PENDING' && (
        <p>
          Command <code>{command.commandType}</code> #{command.commandId} is <strong>pending</strong>: {pending && waited > 0 ? `the device did not answer within ${waited} s. ` : ''}
          It reaches the device when it connects or asks, until {formatDate(command.expiresAt)}; its result shows here and in the list below.
        </p>
      )}
      {command.status === 'EXPIRED' && (
        <p>
          Command <code>{command.commandType}</code> #{command.commandId} <strong>expired</strong> before the device answered.
        </p>
      )}
    </div>
  );
}
