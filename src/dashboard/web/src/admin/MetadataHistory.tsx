import { useEffect, useState } from 'react';
import { formatDate } from '../format.js';
import { ErrorMessage } from '../ui.js';
import { adminApi, type MetadataVersion } from './admin-api.js';
import { Changes } from './Changes.js';
import { diff } from './diff.js';
import './admin.css';

/**
 * An endpoint's metadata versions, device reports and operator edits alike, each shown as what
 * changed since the version before. Loaded when opened, and again when `version` (the endpoint's
 * metadataUpdatedDate) moves while it is open.
 */
export function MetadataHistory({ endpointId, version }: { endpointId: string; version: string | null }) {
  const [open, setOpen] = useState(false);
  const [versions, setVersions] = useState<MetadataVersion[]>();
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    adminApi.metadataHistory(endpointId).then(
      (slice) => {
        if (cancelled) return;
        setVersions(slice.content);
        setNext(slice.next);
        setError(null);
      },
      (err) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [open, endpointId, version]);

  const more = () => {
    if (next === null) return;
    adminApi.metadataHistory(endpointId, next).then((slice) => {
      setVersions((current) => [...(current ?? []), ...slice.content]);
      setNext(slice.next);
    }, setError);
  };

  return (
    <section className="card" aria-labelledby="history-title">
      <div className="widget-head">
        <h2 id="history-title">Metadata history</h2>
        <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide history' : 'Show history'}
        </button>
      </div>
      {open && (
        <>
          <ErrorMessage error={error} />
          {versions && versions.length === 0 && <p className="muted">No recorded changes yet.</p>}
          {versions && versions.length > 0 && (
            <ol className="history" data-testid="metadata-history">
              {versions.map((v, index) => (
                <li key={v.id}>
                  <div className="history-head">
                    <span>{formatDate(v.at)}</span>
                    <span className={`badge ${v.source === 'device' ? 'badge-online' : 'badge-offline'}`}>{v.source === 'device' ? 'Device' : 'Operator'}</span>
                  </div>
                  {/* The oldest loaded version, when older ones exist, has nothing to compare with on screen: show it whole. */}
                  {versions[index + 1] || next === null ? (
                    <Changes changes={diff(versions[index + 1]?.metadata ?? {}, v.metadata)} />
                  ) : (
                    <code className="json">{JSON.stringify(v.metadata)}</code>
                  )}
                </li>
              ))}
            </ol>
          )}
          {next !== null && (
            <button type="button" className="secondary" onClick={more}>
              Load older versions
            </button>
          )}
        </>
      )}
    </section>
  );
}
