import { errors, isTetherError } from '../core/errors.js';
import type { Services } from '../core/services.js';
import type { JsonValue } from '../core/types.js';

export const BULK_ACTIONS = ['delete', 'suspend-tokens', 'revoke-tokens', 'set-metadata', 'delete-metadata-key'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export const MAX_BULK = 1000;

export interface BulkRequest {
  action: BulkAction;
  endpointIds: string[];
  key?: string;
  value?: JsonValue;
}

export interface BulkResult {
  succeeded: number;
  failed: Array<{ endpointId: string; code: string; message: string }>;
}

/**
 * One action on many endpoints, one endpoint at a time (each its own change, its own audit entry).
 * `onChanged` runs after each endpoint that changed.
 */
export async function runBulk(services: Services, request: BulkRequest, onChanged: (endpointId: string) => Promise<void>, before: (endpointId: string) => Promise<void>): Promise<BulkResult> {
  if ((request.action === 'set-metadata' || request.action === 'delete-metadata-key') && request.key === undefined) {
    throw errors.validation(`action ${request.action} needs "key"`);
  }
  if (request.action === 'set-metadata' && request.value === undefined) throw errors.validation('action set-metadata needs "value"');
  const result: BulkResult = { succeeded: 0, failed: [] };
  for (const endpointId of new Set(request.endpointIds)) {
    try {
      await services.registry.getEndpoint(endpointId, false);
      await before(endpointId);
      await apply(services, request, endpointId);
      result.succeeded++;
      await onChanged(endpointId);
    } catch (err) {
      if (!isTetherError(err)) throw err;
      result.failed.push({ endpointId, code: err.code, message: err.message });
    }
  }
  return result;
}

async function apply(services: Services, request: BulkRequest, endpointId: string): Promise<void> {
  switch (request.action) {
    case 'delete':
      return services.registry.deleteEndpoint(endpointId);
    case 'suspend-tokens':
    case 'revoke-tokens': {
      const tokens = await services.credentials.listTokens(endpointId);
      const action = request.action === 'suspend-tokens' ? 'suspend' : 'revoke';
      const eligible = action === 'suspend' ? ['ACTIVE', 'INACTIVE'] : ['ACTIVE', 'INACTIVE', 'SUSPENDED'];
      for (const token of tokens) if (eligible.includes(token.status)) await services.credentials.changeTokenStatus(endpointId, token.tokenId, action);
      return;
    }
    case 'set-metadata':
      await services.registry.changeMetadata(endpointId, { kind: 'merge', metadata: { [request.key!]: request.value! } }, 'operator');
      return;
    case 'delete-metadata-key':
      await services.registry.changeMetadata(endpointId, { kind: 'delete', keys: [request.key!] }, 'operator');
      return;
  }
}
