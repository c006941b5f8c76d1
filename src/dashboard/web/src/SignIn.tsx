import { useState } from 'react';
import { api, type SessionInfo } from './api.js';
import { ErrorMessage, useAction, Field } from './ui.js';

export function SignIn({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <main className="sign-in">
      <form
        className="card sign-in-card"
        aria-labelledby="sign-in-title"
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => onSignedIn(await api.signIn(username, password)));
        }}
      >
        <h1 id="sign-in-title">Sign in to Tether</h1>
        <Field label="Username">
          {(id) => (
            <input id={id} name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          )}
        </Field>
        <Field label="Password">
          {(id) => (
            <input id={id} name="password" type="password" autoComplete="current-password" required autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorMessage error={action.error} />
        <p className="hint">
          The password is <code>TETHER_ADMIN_PASSWORD</code>, or the one <code>tether start</code> printed the first time it ran.
        </p>
      </form>
    </main>
  );
}
