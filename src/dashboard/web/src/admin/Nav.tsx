import { linkHandler } from '../router.js';
import { useCan } from './roles.js';

/** The dashboard's sections; the admin ones appear only for admins (the server refuses others anyway). */
export function Nav({ path, listUrl, softwareUrl }: { path: string; listUrl: string; softwareUrl: string }) {
  const can = useCan();
  const links: Array<{ url: string; label: string; active: boolean }> = [
    { url: listUrl, label: 'Endpoints', active: path === '/' || path.startsWith('/endpoints/') },
    { url: softwareUrl, label: 'Software', active: path === '/software' || path.startsWith('/rollouts/') },
  ];
  if (can.readAudit) links.push({ url: '/audit', label: 'Audit log', active: path === '/audit' });
  if (can.manageApiKeys) links.push({ url: '/api-keys', label: 'API keys', active: path === '/api-keys' });
  if (can.manageUsers) links.push({ url: '/users', label: 'Users', active: path === '/users' });
  return (
    <nav className="main-nav" aria-label="Sections">
      {links.map((l) => (
        <a key={l.url} href={l.url} aria-current={l.active ? 'page' : undefined} onClick={linkHandler(l.url)}>
          {l.label}
        </a>
      ))}
      {/* Served by the REST API itself (Swagger UI), outside the SPA: a plain link. */}
      <a href="/api/docs" target="_blank" rel="noopener">
        API reference
      </a>
    </nav>
  );
}
