import { useState } from 'react';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { DoneActions, SubmitActions } from '../widgets.js';
import { adminApi } from './admin-api.js';
import { checkPassword } from './password.js';
import { useViewer } from './roles.js';

/** The signed-in user changes their own password; their other sessions end, this one stays. */
export function AccountDialog({ onClose }: { onClose: () => void }) {
  const viewer = useViewer();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const action = useAction();
  return (
    <Dialog title="Your account" onClose={onClose}>
      <p>
        Signed in as <strong>{viewer.username}</strong>, role <strong>{viewer.role}</strong>.
      </p>
      {done ? (
        <>
          <p className="notice" role="status">
            Your password is changed. Your other sessions have ended.
          </p>
          <DoneActions onClose={onClose} />
        </>
      ) : (
        <form
          aria-label="Change your password"
          onSubmit={(event) => {
            event.preventDefault();
            void action.run(async () => {
              checkPassword(password);
              if (password !== repeat) throw new Error('The two new passwords differ: type the same one twice.');
              await adminApi.changeOwnPassword(current, password);
              setDone(true);
            });
          }}
        >
          <h3>Change your password</h3>
          <input type="text" name="username" aria-label="Username" autoComplete="username" value={viewer.username} readOnly hidden />
          <Field label="Current password">
            {(id) => <input id={id} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />}
          </Field>
          <Field label="New password">
            {(id) => <input id={id} type="password" autoComplete="new-password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />}
          </Field>
          <Field label="New password again">
            {(id) => <input id={id} type="password" autoComplete="new-password" required minLength={8} value={repeat} onChange={(e) => setRepeat(e.target.value)} />}
          </Field>
          <ErrorMessage error={action.error} />
          <SubmitActions onCancel={onClose} disabled={action.busy}>
            Change password
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}
