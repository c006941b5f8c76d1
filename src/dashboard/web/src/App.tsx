import { useEffect, useState } from 'react';
import { api, onSignedOut, type Application, type ServerInfo, type SessionInfo } from './api.js';
import { EndpointList } from './EndpointList.js';
import { EndpointPage } from './EndpointPage.js';
import { navigate, useLocation } from './router.js';
import { SignIn } from './SignIn.js';
import { ErrorMessage, useAction } from './ui.js';

type SessionState = { kind: 'checking' } | { kind: 'signed-out' } | { kind: 'signed-in'; session: SessionInfo };

export function App() {
  const [state, setState] = useState<SessionState>({ kind: 'checking' });

  useEffect(() => {
    api.me().then(
      (me) => setState(me.signedIn ? { kind: 'signed-in', session: { username: me.username } } : { kind: 'signed-out' }),
      () => setState({ kind: 'signed-out' }),
    );
    return onSignedOut(() => setState({ kind: 'signed-out' }));
  }, []);

  if (state.kind === 'checking') return <p className="loading">Loading…</p>;
  if (state.kind === 'signed-out') return <SignIn onSignedIn={(session) => setState({ kind: 'signed-in', session })} />;
  return <SignedIn session={state.session} onSignedOut={() => setState({ kind: 'signed-out' })} />;
}

function SignedIn({ session, onSignedOut: signedOut }: { session: SessionInfo; onSignedOut: () => void }) {
  const location = useLocation();
  const [applications, setApplications] = useState<Application[]>();
  const [server, setServer] = useState<ServerInfo>();
  const [loadError, setLoadError] = useState<unknown>(null);
  const signOut = useAction();

  useEffect(() => {
    Promise.all([api.applications(), api.info()]).then(
      ([apps, info]) => {
        setApplications(apps);
        setServer(info);
      },
      setLoadError,
    );
  }, []);

  const requested = location.query.get('app');
  const app =
    applications?.find((a) => a.name === requested)?.name ??
    applications?.find((a) => a.name === 'demo_application')?.name ??
    applications?.[0]?.name;
  const endpointMatch = /^\/endpoints\/([^/]+)$/.exec(location.path);

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/" onClick={(e) => { e.preventDefault(); navigate(app ? `/?app=${encodeURIComponent(app)}` : '/'); }}>
          Tether
        </a>
        {applications && applications.length > 0 && (
          <div className="app-picker">
            <label htmlFor="app-picker">Application</label>
            <select id="app-picker" value={app} onChange={(event) => navigate(`/?app=${encodeURIComponent(event.target.value)}`)}>
              {applications.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="topbar-end">
          <span className="user" aria-label={`Signed in as ${session.username}`}>
            {session.username}
          </span>
          <button
            type="button"
            className="secondary"
            disabled={signOut.busy}
            onClick={() => signOut.run(async () => {
              await api.signOut();
              signedOut();
            })}
          >
            Sign out
          </button>
          <ErrorMessage error={signOut.error} />
        </div>
      </header>
      <main className="content">
        <ErrorMessage error={loadError} />
        {applications && applications.length === 0 && (
          <p className="empty">There are no applications yet. Declare one in the config file or create it with POST /api/v1/applications.</p>
        )}
        {app && endpointMatch?.[1] !== undefined && (
          <EndpointPage key={endpointMatch[1]} app={app} endpointId={decodeURIComponent(endpointMatch[1])} server={server} />
        )}
        {app && !endpointMatch && <EndpointList key={app} app={app} server={server} query={location.query} />}
      </main>
    </div>
  );
}
