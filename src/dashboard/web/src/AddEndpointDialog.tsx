import { useEffect, useState } from 'react';
import { api, type AppVersion, type FormField, type Metadata, type ServerInfo } from './api.js';
import { endpointUrl, navigate } from './router.js';
import { TokenReveal } from './TokenReveal.js';
import { Dialog, ErrorMessage, Field, useAction } from './ui.js';
import { DoneActions, Options, SubmitActions } from './widgets.js';

type Values = Record<string, string | boolean>;

function toMetadata(fields: FormField[], values: Values): Metadata {
  const metadata: Metadata = {};
  for (const field of fields) {
    const value = values[field.key];
    if (field.type === 'boolean') {
      metadata[field.key] = value === true;
    } else if (typeof value === 'string' && value.trim() !== '') {
      metadata[field.key] = field.type === 'number' ? Number(value) : value;
    }
  }
  return metadata;
}

export function AddEndpointDialog({
  app,
  versions,
  server,
  onClose,
  onCreated,
}: {
  app: string;
  versions: AppVersion[];
  server: ServerInfo | undefined;
  onClose: () => void;
  onCreated: () => void;
}) {
  const [fields, setFields] = useState<FormField[]>();
  const [loadError, setLoadError] = useState<unknown>(null);
  const [version, setVersion] = useState(versions[0]?.name ?? '');
  const [values, setValues] = useState<Values>({});
  const [token, setToken] = useState('');
  const [created, setCreated] = useState<{ endpointId: string; token: string; version: string }>();
  const create = useAction();

  useEffect(() => {
    api.form(app).then((f) => setFields(f.fields), setLoadError);
  }, [app]);

  if (created) {
    return (
      <Dialog title="Endpoint created" onClose={onClose} wide>
        <p>
          Endpoint <code data-testid="created-endpoint-id">{created.endpointId}</code> is registered in {created.version}.
        </p>
        <TokenReveal token={created.token} server={server} appVersion={created.version} />
        <DoneActions onClose={onClose}>
          <button type="button" className="secondary" onClick={() => navigate(endpointUrl(app, created.endpointId))}>
            Open endpoint
          </button>
        </DoneActions>
      </Dialog>
    );
  }

  return (
    <Dialog title="Add endpoint" onClose={onClose}>
      <ErrorMessage error={loadError} />
      {fields && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void create.run(async () => {
              const result = await api.createEndpoint({
                appVersion: { name: version },
                metadata: toMetadata(fields, values),
                ...(token.trim() ? { endpointToken: token.trim() } : {}),
              });
              setCreated({ endpointId: result.endpointId, token: result.token, version });
              onCreated();
            });
          }}
        >
          <Field label="Application version">
            {(id) => (
              <select id={id} required value={version} onChange={(e) => setVersion(e.target.value)}>
                <Options values={versions.map((v) => v.name)} />
              </select>
            )}
          </Field>
          {fields.map((field) =>
            field.type === 'boolean' ? (
              <label key={field.key} className="check">
                <input type="checkbox" name={field.key} checked={values[field.key] === true} onChange={(e) => setValues({ ...values, [field.key]: e.target.checked })} />
                <span>{field.label}</span>
              </label>
            ) : (
              <Field
                key={field.key}
                label={
                  <>
                    {field.label}
                    {field.required && <span aria-hidden="true"> *</span>} <span className="muted">({field.key})</span>
                  </>
                }
              >
                {(id) => (
                  <input
                    id={id}
                    name={field.key}
                    type={field.type === 'number' ? 'number' : 'text'}
                    step={field.type === 'number' ? 'any' : undefined}
                    required={field.required}
                    value={typeof values[field.key] === 'string' ? (values[field.key] as string) : ''}
                    onChange={(e) => setValues({ ...values, [field.key]: e.target.value })}
                  />
                )}
              </Field>
            ),
          )}
          <Field label={<>Custom token <span className="muted">(optional; leave empty to generate one)</span></>}>
            {(id) => (
              <input id={id} name="endpointToken" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
            )}
          </Field>
          {fields.length === 0 && <p className="hint">Add your own fields, such as meterDescription, with Edit creation form.</p>}
          <ErrorMessage error={create.error} />
          <SubmitActions onCancel={onClose} disabled={create.busy || !version}>
            Create endpoint
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}
