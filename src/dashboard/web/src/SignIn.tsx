import { useState } from 'react';
import { api, type SessionInfo } from './api.js';
import { ErrorMessage, useAction, Field } from './ui.js';

/** Said when the server gives no hint of its own (docs/accounts.md: recovery). */
const FALLBACK_HINT = 'First sign-in: user "admin" with the password printed when Tether first started. Lost it? On the server run: npx tether admin reset-password';

export function SignIn({ onSignedIn, hint }: { onSignedIn: (session: SessionInfo) => void; hint?: string | undefined }) {
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
        {/* One message at a time: a refusal already says what to do (recovery, or how long the
            block lasts), so the general hint under it would only repeat or contradict it. */}
        {action.error ? (
          <ErrorMessage error={action.error} />
        ) : (
          <p className="hint" data-testid="sign-in-hint">
            {hint ?? FALLBACK_HINT}
          </p>
        )}
      </form>
    </main>
  );
}
