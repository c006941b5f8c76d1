import { request, type JsonValue } from '../api.js';

export type BulkAction = { kind: 'delete' } | { kind: 'suspend' } | { kind: 'revoke' } | { kind: 'set-metadata'; key: string; value: JsonValue };

export interface BulkResult {
  summary: string;
  done: number;
  failed: Array<{ endpointId: string; message: string }>;
}

/** The server takes up to 1000 endpoints per call (docs/accounts.md, bulk actions). */
const CHUNK = 1000;

const ACTIONS = { delete: 'delete', suspend: 'suspend-tokens', revoke: 'revoke-tokens', 'set-metadata': 'set-metadata' } as const;

export function summarize(action: BulkAction, done: number, failed: number): string {
  const verb = { delete: 'Deleted', suspend: 'Suspended the tokens of', revoke: 'Revoked the tokens of', 'set-metadata': 'Set the key on' }[action.kind];
  return `${verb} ${done} endpoint${done === 1 ? '' : 's'}.${failed > 0 ? ` ${failed} failed:` : ''}`;
}

/** POST /api/v1/endpoints/bulk: one call per 1000 endpoints; each endpoint changed is its own audit entry. */
export async function runBulk(action: BulkAction, ids: string[]): Promise<BulkResult> {
  if (action.kind === 'set-metadata' && !action.key) throw new Error('Enter the metadata key to set.');
  let done = 0;
  const failed: BulkResult['failed'] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const body: { action: string; endpointIds: string[]; key?: string; value?: JsonValue } = { action: ACTIONS[action.kind], endpointIds: ids.slice(i, i + CHUNK) };
    if (action.kind === 'set-metadata') Object.assign(body, { key: action.key, value: action.value });
    const answer = await request<{ succeeded: number; failed: Array<{ endpointId: string; code: string; message: string }> }>('POST', '/api/v1/endpoints/bulk', body);
    done += answer.succeeded;
    failed.push(...answer.failed.map((f) => ({ endpointId: f.endpointId, message: `${f.message} (${f.code})` })));
  }
  return { done, failed, summary: summarize(action, done, failed.length) };
}
