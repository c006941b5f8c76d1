import { useState } from 'react';
import { formatDate } from '../format.js';
import { CopyButton, Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { ConfirmDialog, DoneActions, Options, SubmitActions, TableHead, useLoad } from '../widgets.js';
import { adminApi, type SignInThrottle, type User } from './admin-api.js';
import { checkPassword, generatePassword } from './password.js';
import { ROLE_DESCRIPTIONS, ROLES, useViewer, type Role } from './roles.js';
import './admin.css';

/** Users and their roles (admin only; the server refuses everyone else). */
export function UsersPage() {
  const viewer = useViewer();
  const { data, error: loadError, reload: load } = useLoad(() => Promise.all([adminApi.users(), adminApi.throttles()]));
  const [users, throttles] = data ?? [undefined, []];
  const [dialog, setDialog] = useState<{ kind: 'reset' | 'delete'; user: User } | null>(null);
  const change = useAction();
  const [changing, setChanging] = useState<string | null>(null);

  return (
    <div className="admin-page">
      <section className="card" aria-labelledby="users-title">
        <div className="widget-head">
          <h1 id="users-title">Users</h1>
        </div>
        <p className="muted">
          Roles: <strong>admin</strong> — {ROLE_DESCRIPTIONS.admin}; <strong>operator</strong> — {ROLE_DESCRIPTIONS.operator};{' '}
          <strong>viewer</strong> — {ROLE_DESCRIPTIONS.viewer}.
        </p>
        <ErrorMessage error={loadError} />
        {users && (
          <div className="table-wrap">
            <table className="stack" data-testid="users-table">
              <TableHead columns={['User', 'Role', 'Last sign-in', 'Password changed']} actions />
              <tbody>
                {users.map((user) => (
                  <tr key={user.username} data-username={user.username}>
                    <td data-label="User">
                      <span>
                        <strong>{user.username}</strong>
                        {user.username === viewer.username && <span className="muted"> (you)</span>}
                      </span>
                    </td>
                    <td data-label="Role">
                      <span>
                      <select
                        aria-label={`Role of ${user.username}`}
                        value={user.role}
                        disabled={change.busy}
                        onChange={(e) => {
                          const role = e.target.value as Role;
                          setChanging(user.username);
                          void change.run(async () => {
                            await adminApi.setRole(user.username, role);
                            await load();
                          });
                        }}
                      >
                        <Options values={ROLES} />
                      </select>
                      {changing === user.username && <ErrorMessage error={change.error} />}
                      </span>
                    </td>
                    <td data-label="Last sign-in">{user.lastSignInDate ? formatDate(user.lastSignInDate) : 'never'}</td>
                    <td data-label="Password changed">{formatDate(user.passwordChangedDate)}</td>
                    <td className="actions">
                      <button type="button" className="secondary" aria-label={`Reset password of ${user.username}`} onClick={() => setDialog({ kind: 'reset', user })}>
                        Reset password…
                      </button>
                      <button type="button" className="secondary danger" aria-label={`Delete user ${user.username}`} onClick={() => setDialog({ kind: 'delete', user })}>
                        Delete…
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <CreateUser onCreated={load} />

      {throttles.length > 0 && <Throttles throttles={throttles} onCleared={load} />}

      {dialog?.kind === 'reset' && <ResetPassword user={dialog.user} onClose={() => setDialog(null)} onDone={load} />}
      {dialog?.kind === 'delete' && <DeleteUser user={dialog.user} onClose={() => setDialog(null)} onDone={load} />}
    </div>
  );
}

function PasswordField({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <Field className="field grow" label={label}>
      {(id) => (
        <div className="password-box">
          <input id={id} type="text" autoComplete="new-password" spellCheck={false} required minLength={8} value={value} onChange={(e) => onChange(e.target.value)} />
          <button type="button" className="secondary" onClick={() => onChange(generatePassword())}>
            Generate
          </button>
          {value && <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} />}
        </div>
      )}
    </Field>
  );
}

function CreateUser({ onCreated }: { onCreated: () => Promise<void> }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const action = useAction();
  return (
    <section className="card" aria-labelledby="create-user-title">
      <h2 id="create-user-title">Add a user</h2>
      <form
        className="admin-form"
        aria-label="Add a user"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            checkPassword(password);
            const user = await adminApi.createUser({ username: username.trim(), role, password });
            setCreated(`User "${user.username}" was created with the ${user.role} role. Give them the initial password; they can change it after signing in.`);
            setUsername('');
            setPassword('');
            await onCreated();
          });
        }}
      >
        <Field label="Username">
          {(id) => (
            <input id={id} required pattern="[a-z0-9_.@\-]{1,64}" title="Lower-case letters, digits and _ . @ -" autoComplete="off" value={username} onChange={(e) => { setUsername(e.target.value); setCreated(null); }} />
          )}
        </Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <Options values={ROLES} />
            </select>
          )}
        </Field>
        <PasswordField label="Initial password" value={password} onChange={setPassword} />
        <button type="submit" disabled={action.busy}>
          Add user
        </button>
      </form>
      <ErrorMessage error={action.error} />
      {created && (
        <p className="notice" role="status">
          {created}
        </p>
      )}
    </section>
  );
}

function ResetPassword({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => Promise<void> }) {
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();
  return (
    <Dialog title={`Reset the password of ${user.username}`} onClose={onClose}>
      {done ? (
        <>
          <p role="status">The password is changed and {user.username}'s sessions have ended. Give them the new password.</p>
          <DoneActions onClose={onClose} />
        </>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void action.run(async () => {
              checkPassword(password);
              await adminApi.resetPassword(user.username, password);
              setDone(true);
              await onDone();
            });
          }}
        >
          <p>Signs {user.username} out everywhere; they sign in again with the new password.</p>
          <PasswordField label="New password" value={password} onChange={setPassword} />
          <ErrorMessage error={action.error} />
          <SubmitActions onCancel={onClose} disabled={action.busy}>
            Set password
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}

function DeleteUser({ user, onClose, onDone }: { user: User; onClose: () => void; onDone: () => Promise<void> }) {
  return (
    <ConfirmDialog
      title={`Delete user ${user.username}?`}
      confirmLabel="Delete user"
      onClose={onClose}
      onConfirm={async () => {
        await adminApi.deleteUser(user.username);
        onClose();
        await onDone();
      }}
    >
      <p>
        {user.username} ({user.role}) is signed out and can no longer sign in. Their entries in the audit log stay.
      </p>
    </ConfirmDialog>
  );
}

function Throttles({ throttles, onCleared }: { throttles: SignInThrottle[]; onCleared: () => Promise<void> }) {
  const action = useAction();
  return (
    <section className="card" aria-labelledby="throttles-title">
      <h2 id="throttles-title">Blocked sign-ins</h2>
      <p className="muted">Too many failed sign-ins block a user from an address (or a whole address) for 15 minutes. Clear a block once you know who it was.</p>
      <ul className="plain-list">
        {throttles.map((t) => (
          <li key={`${t.username ?? '*'}@${t.clientAddress}`}>
            {t.username ? <strong>{t.username}</strong> : 'Every user'} from <code>{t.clientAddress}</code>: {t.failures} failures, {Math.ceil(t.retryAfterSeconds / 60)} min left{' '}
            <button type="button" className="secondary" disabled={action.busy} onClick={() => action.run(async () => { await adminApi.clearThrottles(t); await onCleared(); })}>
              Clear
            </button>
          </li>
        ))}
      </ul>
      <ErrorMessage error={action.error} />
    </section>
  );
}
