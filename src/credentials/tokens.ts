import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors } from '../core/errors.js';
import { isValidToken } from '../core/names.js';
import type { Iso, TokenRecord } from '../core/types.js';

/**
 * 128 random bits as base64url: 22 characters from A-Z a-z 0-9 - _, so never a '+', '#', '/' or '.'
 * (Kaa CM token rules).
 */
export function generateToken(): string {
  return randomBytes(16).toString('base64url');
}

/** Tokens are stored only as this hash; the plain token exists only in the response that issues it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function tokenHint(token: string): string {
  return `…${token.slice(-4)}`;
}

/** Rejects TOKEN_INVALID for a custom token that breaks the Kaa CM token rules. */
export function checkToken(token: string): string {
  if (typeof token !== 'string' || !isValidToken(token)) throw errors.tokenInvalid();
  return token;
}

export function newTokenRecord(token: string, endpointId: string, applicationName: string, at: Iso): TokenRecord {
  return {
    tokenId: randomUUID(),
    applicationName,
    endpointId,
    tokenHash: hashToken(token),
    status: 'INACTIVE',
    createdDate: at,
    statusUpdatedDate: at,
    hint: tokenHint(token),
  };
}
