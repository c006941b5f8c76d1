import { useState } from 'react';
import { api, type Endpoint, type ServerInfo, type Token } from './api.js';
import { formatDate } from './format.js';
import { TokenReveal } from './TokenReveal.js';
import { Dialog, ErrorMessage, useAction, Field } from './ui.js';
import { useCan } from './admin/roles.js';

type TokenAction = 'suspend' | 'reactivate' | 'revoke';

/** Kaa CM lifecycle: which actions each status allows. */
function actionsFor(status: Token['status']): TokenAction[] {
  switch (status) {
    case 'INACTIVE':
    case 'ACTIVE':
      return ['suspend', 'revoke'];
    case 'SUSPENDED':
      return ['reactivate', 'revoke'];
    case 'REVOKED':
      return [];
  }
}

const ACTION_LABEL: Record<TokenAction, string> = { suspend: 'Suspend', reactivate: 'Reactivate', revoke: 'Revoke' };

export function TokensSection({ endpoint, tokens, server, onChanged }: { endpoint: Endpoint; tokens: Token[]; server: ServerInfo | undefined; onChanged: () => Promise<void> }) {
  const change = useAction();
  const [failed, setFailed] = useState<string | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState<Token | null>(null);
  const [issuing, setIssuing] = useState(false);
  const can = useCan();

  const act = (token: Token, action: TokenAction) => {
    setFailed(token.tokenId);
    return change.run(async () => {
      await api.changeToken(endpoint.endpointId, token.tokenId, action);
      await onChanged();
    });
  };

  return (
    <section className="card" aria-labelledby="tokens-title">
      <div className="widget-head">
        <h2 id="tokens-title">Tokens</h2>
        {can.writeEndpoints && (
          <button type="button" className="secondary" onClick={() => setIssuing(true)}>
            Issue new token
          </button>
        )}
      </div>
      <div className="table-wrap">
        <table className="tokens" data-testid="tokens-table">
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Status changed</th>
              <th scope="col">
                <span className="offscreen">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.tokenId} data-token-id={token.tokenId}>
                <td data-label="Token">
                  <code>…{token.hint.replace(/^…/, '')}</code>
                </td>
                <td data-label="Status">
                  <span className={`status status-${token.status.toLowerCase()}`}>{token.status}</span>
                </td>
                <td data-label="Created">{formatDate(token.createdDate)}</td>
                <td data-label="Status changed">{formatDate(token.statusUpdatedDate)}</td>
                <td className="actions">
                  {(can.writeEndpoints ? actionsFor(token.status) : []).map((action) => (
                    <button
                      key={action}
                      type="button"
                      className={action === 'revoke' ? 'secondary danger' : 'secondary'}
                      aria-label={`${ACTION_LABEL[action]} token ending ${token.hint.replace(/^…/, '')}`}
                      disabled={change.busy}
                      onClick={() => (action === 'revoke' ? setConfirmRevoke(token) : void act(token, action))}
                    >
                      {ACTION_LABEL[action]}
                    </button>
                  ))}
                  {failed === token.tokenId && <ErrorMessage error={change.error} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {confirmRevoke && (
        <Dialog title="Revoke this token?" onClose={() => setConfirmRevoke(null)}>
          <p>
            A revoked token can never be used again; devices using <code>…{confirmRevoke.hint.replace(/^…/, '')}</code> are disconnected.
          </p>
          <div className="dialog-actions">
            <button type="button" className="secondary" autoFocus onClick={() => setConfirmRevoke(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                const token = confirmRevoke;
                setConfirmRevoke(null);
                void act(token, 'revoke');
              }}
            >
              Revoke token
            </button>
          </div>
        </Dialog>
      )}
      {issuing && <IssueTokenDialog endpoint={endpoint} server={server} onClose={() => setIssuing(false)} onIssued={onChanged} />}
    </section>
  );
}

function IssueTokenDialog({ endpoint, server, onClose, onIssued }: { endpoint: Endpoint; server: ServerInfo | undefined; onClose: () => void; onIssued: () => Promise<void> }) {
  const [custom, setCustom] = useState('');
  const [issued, setIssued] = useState<string>();
  const issue = useAction();
  return (
    <Dialog title={issued ? 'New token issued' : 'Issue new token'} onClose={onClose} wide={issued !== undefined}>
      {issued ? (
        <>
          <TokenReveal token={issued} server={server} appVersion={endpoint.appVersion.name} />
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void issue.run(async () => {
              const result = await api.issueToken(endpoint.endpointId, custom.trim() || undefined);
              setIssued(result.token);
              await onIssued();
            });
          }}
        >
          <Field label={<>Custom token <span className="muted">(optional; leave empty to generate one)</span></>}>
            {(id) => (
              <input id={id} autoComplete="off" value={custom} onChange={(e) => setCustom(e.target.value)} />
            )}
          </Field>
          <ErrorMessage error={issue.error} />
          <div className="dialog-actions">
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" disabled={issue.busy}>
              Issue token
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
