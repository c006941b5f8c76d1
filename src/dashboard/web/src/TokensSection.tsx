import { useState } from 'react';
import { api, type Endpoint, type ServerInfo, type Token } from './api.js';
import { formatDate } from './format.js';
import { TokenReveal } from './TokenReveal.js';
import { Dialog, ErrorMessage, useAction, Field } from './ui.js';
import { ConfirmDialog, DoneActions, SubmitActions, TableHead, hintTail } from './widgets.js';
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
          <TableHead columns={['Token', 'Status', 'Created', 'Status changed']} actions />
          <tbody>
            {tokens.map((token) => (
              <tr key={token.tokenId} data-token-id={token.tokenId}>
                <td data-label="Token">
                  <code>…{hintTail(token.hint)}</code>
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
                      aria-label={`${ACTION_LABEL[action]} token ending ${hintTail(token.hint)}`}
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
        <ConfirmDialog
          title="Revoke this token?"
          confirmLabel="Revoke token"
          onClose={() => setConfirmRevoke(null)}
          onConfirm={async () => {
            // The outcome shows in the token's row, like the other token actions.
            setConfirmRevoke(null);
            void act(confirmRevoke, 'revoke');
          }}
        >
          <p>
            A revoked token can never be used again; devices using <code>…{hintTail(confirmRevoke.hint)}</code> are disconnected.
          </p>
        </ConfirmDialog>
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
          <DoneActions onClose={onClose} />
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
          <SubmitActions onCancel={onClose} disabled={issue.busy}>
            Issue token
          </SubmitActions>
        </form>
      )}
    </Dialog>
  );
}
