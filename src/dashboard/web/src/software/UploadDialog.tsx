import { useEffect, useRef, useState } from 'react';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { DoneActions, SubmitActions } from '../widgets.js';
import { formatBytes, uploadPackage, type PackageInfo, type SoftwareRecord } from './software-api.js';

/** Uploads the version's package with a progress bar; the server answers its SHA-256. */
export function UploadDialog({ app, record, onClose, onUploaded }: { app: string; record: SoftwareRecord; onClose: () => void; onUploaded: (info: PackageInfo) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<{ loaded: number; total: number } | null>(null);
  const [done, setDone] = useState<PackageInfo | null>(null);
  const action = useAction();
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const start = () =>
    action.run(async () => {
      if (!file) throw new Error('Choose the package file first.');
      abort.current = new AbortController();
      setSent({ loaded: 0, total: file.size });
      const info = await uploadPackage(app, record.version, file, (loaded, total) => setSent({ loaded, total }), abort.current.signal);
      setDone(info);
      onUploaded(info);
    });

  const share = sent && sent.total > 0 ? Math.min(100, Math.round((sent.loaded / sent.total) * 100)) : 0;
  return (
    <Dialog title={`Upload the package of ${record.version}`} onClose={onClose}>
      {done ? (
        <>
          <div className="upload-progress">
            <progress max={100} value={share} aria-label="Upload progress" data-testid="upload-progress" />
          </div>
          <p role="status" data-testid="upload-done">
            Uploaded <strong>{done.fileName}</strong>, {formatBytes(done.size)}.
          </p>
          <dl className="facts">
            <div>
              <dt>SHA-256</dt>
              <dd className="hash" data-testid="upload-sha256">
                {done.sha256}
              </dd>
            </div>
          </dl>
          <p className="hint">Devices offered {record.version} get its URL, size and SHA-256 in the specification's "package".</p>
          <DoneActions onClose={onClose} />
        </>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void start();
          }}
        >
          {record.package && (
            <p className="notice">
              It replaces {record.package.fileName} ({formatBytes(record.package.size)}); devices that start a download after that get the new file.
            </p>
          )}
          <Field label="Package file">{(id) => <input id={id} type="file" required disabled={action.busy} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}</Field>
          {file && <p className="muted">{formatBytes(file.size)}</p>}
          {sent && (
            <div className="upload-progress">
              <progress max={100} value={share} aria-label="Upload progress" data-testid="upload-progress" />
              <span role="status">
                {share} % · {formatBytes(sent.loaded)} of {formatBytes(sent.total)}
                {action.busy && share === 100 ? ' · the server is checking it…' : ''}
              </span>
            </div>
          )}
          <ErrorMessage error={action.error} />
          <SubmitActions
            onCancel={() => {
              abort.current?.abort();
              onClose();
            }}
            disabled={action.busy || !file}
          >
            {action.busy ? 'Uploading…' : 'Upload'}
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}
