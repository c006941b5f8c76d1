import { useCallback, useEffect, useState } from 'react';
import { formatDate } from '../format.js';
import { linkHandler } from '../router.js';
import { ErrorMessage } from '../ui.js';
import { ConfirmDialog, TableHead } from '../widgets.js';
import { useCan } from '../admin/roles.js';
import { formatBytes, OPEN_STATES, rolloutUrl, softwareApi, type Rollout, type SoftwareRecord } from './software-api.js';
import { StartRolloutDialog } from './StartRolloutDialog.js';
import { UploadDialog } from './UploadDialog.js';
import { VersionDialog } from './VersionDialog.js';
import { RolloutBar } from './RolloutPage.js';
import { useRolloutRefresh } from './use-rollout-refresh.js';
import './software.css';

type Open = { kind: 'create' } | { kind: 'edit'; record: SoftwareRecord } | { kind: 'upload'; record: SoftwareRecord } | { kind: 'delete'; record: SoftwareRecord } | { kind: 'rollout'; version?: string };


/** Software versions of one application (Kaa OTAO), their packages, and its rollouts. */
export function SoftwarePage({ app }: { app: string }) {
  const can = useCan();
  const [versions, setVersions] = useState<SoftwareRecord[]>();
  const [rollouts, setRollouts] = useState<Rollout[]>();
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<Open | null>(null);

  const loadVersions = useCallback(async () => {
    try {
      setVersions(await softwareApi.list(app));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [app]);
  const loadRollouts = useCallback(async () => {
    try {
      setRollouts((await softwareApi.rollouts(app)).content);
    } catch (err) {
      setError(err);
    }
  }, [app]);
  useEffect(() => {
    void loadVersions();
    void loadRollouts();
  }, [loadVersions, loadRollouts]);

  useRolloutRefresh(app, rollouts?.some((r) => OPEN_STATES.has(r.state)) ?? false, loadRollouts);

  return (
    <div className="software-page">
      <section className="card" aria-labelledby="software-title">
        <div className="widget-head">
          <h1 id="software-title">Software of {app}</h1>
          {can.writeEndpoints && (
            <div className="widget-actions">
              <button type="button" onClick={() => setOpen({ kind: 'create' })}>
                New version
              </button>
              <button type="button" className="secondary" disabled={!versions?.length} onClick={() => setOpen({ kind: 'rollout' })}>
                Start rollout…
              </button>
            </div>
          )}
        </div>
        <p className="hint">
          Devices report the version they run and get updates on the 7/CMP instance <code>cmx_ota</code> (the official Kaa clients' <code>reportCurrentSoftwareVersion</code> and{' '}
          <code>getSoftwareUpdate</code>; try <code>npx tether device --ota</code>).
        </p>
        <ErrorMessage error={error} />
        {versions && versions.length === 0 && <p className="muted">No versions yet. Create one, upload its package, then roll it out.</p>}
        {versions && versions.length > 0 && (
          <div className="table-wrap">
            <table className="stack" aria-labelledby="software-title" data-testid="software-table">
              <TableHead columns={['Version', 'Strategy', 'Upgradable from', 'Package', 'SHA-256', 'Updated']} actions={can.writeEndpoints} />
              <tbody>
                {versions.map((s) => (
                  <tr key={s.version} data-version={s.version}>
                    <td data-label="Version">
                      <strong>{s.version}</strong>
                    </td>
                    <td data-label="Strategy">
                      <span className={`strategy strategy-${s.rolloutStrategy}`}>{s.rolloutStrategy}</span>
                      {s.rolloutStrategy === 'targeted' && s.filters.length > 0 && <span className="muted"> ({s.filters.map((f) => f.filterId).join(', ')})</span>}
                    </td>
                    <td data-label="Upgradable from">{s.upgradableFrom.map((v) => (v === '' ? '(none)' : v)).join(', ') || '—'}</td>
                    <td data-label="Package" data-testid="package-cell">
                      {s.package ? (
                        <>
                          <a href={softwareApi.packageUrl(app, s.version)} download={s.package.fileName}>
                            {s.package.fileName}
                          </a>{' '}
                          <span className="muted">{formatBytes(s.package.size)}</span>
                        </>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td data-label="SHA-256">{s.package ? <code className="hash" title={s.package.sha256}>{s.package.sha256.slice(0, 12)}…</code> : '—'}</td>
                    <td data-label="Updated">{formatDate(s.updatedDate)}</td>
                    {can.writeEndpoints && (
                      <td className="actions" data-label="Actions">
                        <button type="button" className="secondary" aria-label={`Edit ${s.version}`} onClick={() => setOpen({ kind: 'edit', record: s })}>
                          Edit
                        </button>
                        <button type="button" className="secondary" aria-label={`Upload the package of ${s.version}`} onClick={() => setOpen({ kind: 'upload', record: s })}>
                          Upload
                        </button>
                        <button type="button" className="secondary" aria-label={`Roll out ${s.version}`} onClick={() => setOpen({ kind: 'rollout', version: s.version })}>
                          Roll out
                        </button>
                        <button type="button" className="secondary danger" aria-label={`Delete ${s.version}`} onClick={() => setOpen({ kind: 'delete', record: s })}>
                          Delete
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="rollouts-title">
        <h2 id="rollouts-title">Rollouts</h2>
        {rollouts && rollouts.length === 0 && <p className="muted">No rollouts yet.</p>}
        {rollouts && rollouts.length > 0 && (
          <div className="table-wrap">
            <table className="stack" aria-labelledby="rollouts-title" data-testid="rollouts-table">
              <TableHead columns={['Rollout', 'Version', 'State', 'Progress', 'Started']} />
              <tbody>
                {rollouts.map((r) => (
                  <tr key={r.rolloutId} data-rollout-id={r.rolloutId}>
                    <td data-label="Rollout">
                      <a href={rolloutUrl(app, r.rolloutId)} onClick={linkHandler(rolloutUrl(app, r.rolloutId))}>
                        {r.rolloutId.slice(0, 8)}
                      </a>
                    </td>
                    <td data-label="Version">{r.version}</td>
                    <td data-label="State">
                      <span className={`status rollout-${r.state}`}>{r.state}</span>
                    </td>
                    <td data-label="Progress">
                      <RolloutBar rollout={r} compact />
                    </td>
                    <td data-label="Started">{formatDate(r.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {open?.kind === 'create' && (
        <VersionDialog
          app={app}
          onClose={() => setOpen(null)}
          onSaved={() => {
            setOpen(null);
            void loadVersions();
          }}
        />
      )}
      {open?.kind === 'edit' && (
        <VersionDialog
          app={app}
          existing={open.record}
          onClose={() => setOpen(null)}
          onSaved={() => {
            setOpen(null);
            void loadVersions();
          }}
        />
      )}
      {open?.kind === 'upload' && <UploadDialog app={app} record={open.record} onClose={() => setOpen(null)} onUploaded={() => void loadVersions()} />}
      {open?.kind === 'rollout' && <StartRolloutDialog app={app} {...(open.version !== undefined && { version: open.version })} onClose={() => setOpen(null)} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete version ${open.record.version}?`}
          confirmLabel="Delete version"
          onClose={() => setOpen(null)}
          onConfirm={async () => {
            await softwareApi.remove(app, open.record.version);
            setOpen(null);
            await loadVersions();
          }}
        >
          <p>
            Version <strong>{open.record.version}</strong> and its package are deleted. Devices are no longer offered it; those that run it keep running it.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
