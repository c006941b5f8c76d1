import { useEffect, useState } from 'react';
import type { AppVersion } from '../api.js';
import { Dialog, ErrorMessage, Field, useAction } from '../ui.js';
import { DoneActions, Options, SubmitActions } from '../widgets.js';
import { exportUrl, importCsv, tokensCsv, type ImportResult, type ListFilters } from './transfer-api.js';

/** Export links for the filtered list; they follow the filters on screen. */
export function ExportLinks({ filters }: { filters: ListFilters }) {
  return (
    <span className="export-links">
      <span className="muted">Export:</span>
      <a href={exportUrl('csv', filters)} download data-testid="export-csv">
        CSV
      </a>
      <a href={exportUrl('json', filters)} download data-testid="export-json">
        JSON
      </a>
    </span>
  );
}

/** A one-time file: the tokens exist only in this answer, so they leave as a download, not a page. */
function TokensDownload({ tokens, app }: { tokens: ImportResult['tokens']; app: string }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const blobUrl = URL.createObjectURL(new Blob([tokensCsv(tokens)], { type: 'text/csv' }));
    setUrl(blobUrl);
    return () => URL.revokeObjectURL(blobUrl);
  }, [tokens]);
  if (!url) return null;
  return (
    <a className="button" href={url} download={`${app}-tokens.csv`} data-testid="tokens-download">
      Download the {tokens.length} tokens (CSV)
    </a>
  );
}

export function ImportDialog({ app, versions, onClose, onImported }: { app: string; versions: AppVersion[]; onClose: () => void; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [version, setVersion] = useState(versions[0]?.name ?? '');
  const [result, setResult] = useState<ImportResult | null>(null);
  const action = useAction();

  return (
    <Dialog title={result ? 'Import finished' : 'Import endpoints from CSV'} onClose={onClose} wide>
      {result ? (
        <div data-testid="import-result">
          <p>
            Created {result.created} endpoint{result.created === 1 ? '' : 's'}.
            {result.failed.length > 0 && ` ${result.failed.length} line${result.failed.length === 1 ? ' was' : 's were'} refused:`}
          </p>
          {result.failed.length > 0 && (
            <ul className="error" data-testid="import-failures">
              {result.failed.slice(0, 20).map((e) => (
                <li key={e.line}>
                  Line {e.line}
                  {e.endpointId ? ` (${e.endpointId})` : ''}: {e.message} ({e.code})
                </li>
              ))}
              {result.failed.length > 20 && <li>… and {result.failed.length - 20} more</li>}
            </ul>
          )}
          {result.tokens.length > 0 && (
            <>
              <p className="notice">
                <strong>Download the tokens now.</strong> They are offered only this once; Tether keeps only their hashes.
              </p>
              <TokensDownload tokens={result.tokens} app={app} />
            </>
          )}
          <DoneActions onClose={onClose} />
        </div>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void action.run(async () => {
              if (!file) throw new Error('Choose a CSV file first.');
              const outcome = await importCsv(version, file);
              setResult(outcome);
              onImported();
            });
          }}
        >
          <p>
            One endpoint per line, with a header row. <code>endpointId</code> and <code>token</code> are optional (generated when empty),
            <code>metadata.&lt;key&gt;</code> columns become metadata, <code>appVersion</code> overrides the version chosen here. A CSV export
            of this list imports as it is.
          </p>
          <Field label="CSV file">
            {(id) => <input id={id} type="file" accept=".csv,text/csv" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
          </Field>
          <Field label="Application version">
            {(id) => (
              <select id={id} value={version} onChange={(e) => setVersion(e.target.value)}>
                <Options values={versions.map((v) => v.name)} />
              </select>
            )}
          </Field>
          <ErrorMessage error={action.error} />
          <SubmitActions onCancel={onClose} disabled={action.busy}>
            {action.busy ? 'Importing…' : 'Import'}
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}
