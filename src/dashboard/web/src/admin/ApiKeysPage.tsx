import { useState } from 'react';
import { formatAgo, formatDate } from '../format.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { ConfirmDialog, DoneActions, Options, SecretField, TableHead, hintTail, useLoad } from '../widgets.js';
import { adminApi, type ApiKey } from './admin-api.js';
import { ROLES, type Role } from './roles.js';
import './admin.css';

/** Named API keys with a role: created (the secret shown once), listed with last use, revoked. */
export function ApiKeysPage() {
  const { data: keys, error: loadError, reload: load } = useLoad(adminApi.apiKeys);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const create = useAction();

  return (
    <div className="admin-page">
      <section className="card" aria-labelledby="keys-title">
        <h1 id="keys-title">API keys</h1>
        <p className="muted">
          Scripts and other systems call the REST API with <code>Authorization: Bearer &lt;key&gt;</code>. Each key has its own role and is
          listed in the audit log under its name. The bootstrap admin key from the data directory is not listed here.
        </p>
        <ErrorMessage error={loadError} />
        {keys && keys.length === 0 && <p className="muted">No API keys yet.</p>}
        {keys && keys.length > 0 && (
          <div className="table-wrap">
            <table className="stack" data-testid="api-keys-table">
              <TableHead columns={['Name', 'Role', 'Key', 'Created', 'Last used', 'Status']} actions />
              <tbody>
                {keys.map((k) => (
                  <tr key={k.keyId} data-key-id={k.keyId}>
                    <td data-label="Name">
                      <strong>{k.name}</strong>
                    </td>
                    <td data-label="Role">{k.role}</td>
                    <td data-label="Key">
                      <code>…{hintTail(k.hint)}</code>
                    </td>
                    <td data-label="Created">
                      <span>
                        {formatDate(k.createdDate)} <span className="muted">by {k.createdBy}</span>
                      </span>
                    </td>
                    <td data-label="Last used" title={formatDate(k.lastUsedDate)}>
                      {formatAgo(k.lastUsedDate)}
                    </td>
                    <td data-label="Status">
                      <span>
                        <span className={`status status-${k.status === 'ACTIVE' ? 'active' : 'revoked'}`}>{k.status}</span>
                        {k.revokedDate && <span className="muted"> {formatDate(k.revokedDate)}</span>}
                      </span>
                    </td>
                    <td className="actions">
                      {k.status === 'ACTIVE' && (
                        <button type="button" className="secondary danger" aria-label={`Revoke API key ${k.name}`} onClick={() => setRevoking(k)}>
                          Revoke…
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create an API key</h2>
        <form
          className="admin-form"
          aria-label="Create an API key"
          onSubmit={(event) => {
            event.preventDefault();
            void create.run(async () => {
              setCreated(await adminApi.createApiKey({ name: name.trim(), role }));
              setName('');
              await load();
            });
          }}
        >
          <Field className="field grow" label="Name">
            {(id) => (
              <input id={id} required maxLength={64} pattern="[A-Za-z0-9 _.:\-]{1,64}" title="Letters, digits, spaces and _ . : -" placeholder="e.g. ci-import" value={name} onChange={(e) => setName(e.target.value)} />
            )}
          </Field>
          <Field label="Role">
            {(id) => (
              <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <Options values={ROLES} />
              </select>
            )}
          </Field>
          <button type="submit" disabled={create.busy}>
            Create key
          </button>
        </form>
        <ErrorMessage error={create.error} />
      </section>

      {created && (
        <Dialog title="API key created" onClose={() => setCreated(null)}>
          <p className="notice">
            <strong>Copy the key now.</strong> It is shown only once; Tether keeps only its hash.
          </p>
          <SecretField id="new-api-key" label={`Key “${created.name}” (${created.role})`} value={created.key} copyLabel="Copy API key" />
          <DoneActions onClose={() => setCreated(null)} />
        </Dialog>
      )}

      {revoking && (
        <ConfirmDialog
          title={`Revoke API key ${revoking.name}?`}
          confirmLabel="Revoke key"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await adminApi.revokeApiKey(revoking.keyId);
            setRevoking(null);
            await load();
          }}
        >
          <p>Requests with this key are refused from now on. This cannot be undone; create a new key if you need one again.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
