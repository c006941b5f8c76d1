import { useEffect, useState } from 'react';
import { api, onSignedOut, type Application, type ServerInfo, type SessionInfo } from './api.js';
import { EndpointList } from './EndpointList.js';
import { EndpointPage } from './EndpointPage.js';
import { navigate, useLocation } from './router.js';
import { SignIn } from './SignIn.js';
import { ErrorMessage, useAction } from './ui.js';
import { AccountDialog } from './admin/AccountDialog.js';
import { ApiKeysPage } from './admin/ApiKeysPage.js';
import { AuditPage } from './admin/AuditPage.js';
import { Nav } from './admin/Nav.js';
import { asRole, permissions, ViewerContext, type Viewer } from './admin/roles.js';
import { UsersPage } from './admin/UsersPage.js';
import { LiveIndicator } from './live/LiveIndicator.js';
import { RolloutPage } from './software/RolloutPage.js';
import { SoftwarePage } from './software/SoftwarePage.js';
import './admin/admin.css';

/** `me` and sign-in answers carry the role (and, signed out, the sign-in hint); see docs/accounts.md. */
type WithRole = { username: string; role?: string };
// A server without roles (before accounts) has only the admin account.
const toViewer = (s: WithRole): Viewer => ({ username: s.username, role: s.role === undefined ? 'admin' : asRole(s.role) });

/** Pages about the whole server, not one application. */
const ADMIN_PATHS = ['/users', '/api-keys', '/audit'];

type SessionState = { kind: 'checking' } | { kind: 'signed-out'; hint?: string } | { kind: 'signed-in'; session: SessionInfo & Viewer };

export function App() {
  const [state, setState] = useState<SessionState>({ kind: 'checking' });

  useEffect(() => {
    api.me().then(
      (me) => {
        const info = me as typeof me & { role?: string; hint?: string };
        if (info.signedIn) setState({ kind: 'signed-in', session: toViewer(info) });
        else setState(info.hint ? { kind: 'signed-out', hint: info.hint } : { kind: 'signed-out' });
      },
      () => setState({ kind: 'signed-out' }),
    );
    return onSignedOut(() => setState({ kind: 'signed-out' }));
  }, []);

  if (state.kind === 'checking') return <p className="loading">Loading…</p>;
  if (state.kind === 'signed-out') return <SignIn hint={state.hint} onSignedIn={(session) => setState({ kind: 'signed-in', session: toViewer(session) })} />;
  return <SignedIn session={state.session} onSignedOut={() => setState({ kind: 'signed-out' })} />;
}

function SignedIn({ session, onSignedOut: signedOut }: { session: Viewer; onSignedOut: () => void }) {
  const location = useLocation();
  const [applications, setApplications] = useState<Application[]>();
  const [server, setServer] = useState<ServerInfo>();
  const [loadError, setLoadError] = useState<unknown>(null);
  const signOut = useAction();
  const [account, setAccount] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const place = `${location.path}?${location.query.toString()}`;
  // Following a link closes the phone menu.
  useEffect(() => setMenuOpen(false), [place]);
  const can = permissions(session.role);

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
  const rolloutMatch = /^\/rollouts\/([^/]+)$/.exec(location.path);
  const appPage = location.path === '/software' ? 'software' : rolloutMatch ? 'rollout' : endpointMatch ? 'endpoint' : 'list';
  const adminPage =
    (location.path === '/users' && can.manageUsers) || (location.path === '/api-keys' && can.manageApiKeys) || (location.path === '/audit' && can.readAudit)
      ? location.path
      : undefined;

  return (
    <ViewerContext.Provider value={session}>
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/" onClick={(e) => { e.preventDefault(); navigate(app ? `/?app=${encodeURIComponent(app)}` : '/'); }}>
          Tether
        </a>
        {/* Users, API keys and the audit log span every application: a picker there would change nothing. */}
        {applications && applications.length > 0 && !ADMIN_PATHS.includes(location.path) && (
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
        <LiveIndicator />
        {/* On a phone the sections and the account sit behind one button: the bar stays one row. */}
        <button
          type="button"
          className="secondary menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="topbar-menu"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <div id="topbar-menu" className={menuOpen ? 'topbar-menu open' : 'topbar-menu'}>
          <Nav path={location.path} listUrl={app ? `/?app=${encodeURIComponent(app)}` : '/'} softwareUrl={app ? `/software?app=${encodeURIComponent(app)}` : '/software'} />
          <div className="topbar-end">
            <button type="button" className="user-button" aria-label={`Signed in as ${session.username} (${session.role}): account and password`} onClick={() => setAccount(true)}>
              {session.username} <span className="role-tag">{session.role}</span>
            </button>
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
        </div>
      </header>
      <main className="content">
        <ErrorMessage error={loadError} />
        {applications && applications.length === 0 && (
          <p className="empty">There are no applications yet. Declare one in the config file or create it with POST /api/v1/applications.</p>
        )}
        {!adminPage && ADMIN_PATHS.includes(location.path) && (
          <p className="error" role="alert">
            This page needs the admin role; you are signed in as {session.username} ({session.role}). Ask an admin to change your role.
          </p>
        )}
        {adminPage === '/users' && <UsersPage />}
        {adminPage === '/api-keys' && <ApiKeysPage />}
        {adminPage === '/audit' && <AuditPage query={location.query} />}
        {!adminPage && app && appPage === 'software' && <SoftwarePage key={app} app={app} />}
        {!adminPage && app && appPage === 'rollout' && rolloutMatch?.[1] !== undefined && (
          <RolloutPage key={rolloutMatch[1]} app={app} rolloutId={decodeURIComponent(rolloutMatch[1])} />
        )}
        {!adminPage && app && endpointMatch?.[1] !== undefined && (
          <EndpointPage key={endpointMatch[1]} app={app} endpointId={decodeURIComponent(endpointMatch[1])} server={server} />
        )}
        {!adminPage && app && appPage === 'list' && !ADMIN_PATHS.includes(location.path) && <EndpointList key={app} app={app} server={server} query={location.query} />}
      </main>
      {account && <AccountDialog onClose={() => setAccount(false)} />}
    </div>
    </ViewerContext.Provider>
  );
}
