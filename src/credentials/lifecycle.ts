import { errors } from '../core/errors.js';
import type { TokenStatus } from '../core/types.js';

export type TokenAction = 'suspend' | 'reactivate' | 'revoke';

/**
 * Kaa CM token lifecycle: INACTIVE -> ACTIVE on first use; ACTIVE|INACTIVE -> SUSPENDED;
 * SUSPENDED -> ACTIVE; anything but REVOKED -> REVOKED, which is final.
 * Rejects TOKEN_STATE_CONFLICT for any other move.
 */
export function nextStatus(from: TokenStatus, action: TokenAction): TokenStatus {
  switch (action) {
    case 'suspend':
      if (from === 'ACTIVE' || from === 'INACTIVE') return 'SUSPENDED';
      break;
    case 'reactivate':
      if (from === 'SUSPENDED') return 'ACTIVE';
      break;
    case 'revoke':
      if (from !== 'REVOKED') return 'REVOKED';
      break;
  }
  throw errors.tokenTransitionInvalid(from, action);
}
