import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';

const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
// Expired sessions are deleted at a sign-in, at most this often.
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface SessionInfo {
  username: string;
  created: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Signed-in browsers, kept in AccountStorage (as SHA-256 of the cookie value, like tokens), with
 * no copy in memory: every node on a shared database (PostgreSQL) accepts a session made on any
 * other, and a session ended anywhere (sign-out, password change, user deleted) is refused by all
 * at their next request, with nothing to invalidate over the bus. The cost is one indexed read per
 * request, beside the read of the user's current role that each request makes anyway.
 */
export class SessionStore {
  private lastPrune = 0;

  constructor(
    private readonly store: AccountStorage,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async create(username: string): Promise<{ token: string; maxAgeSeconds: number }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.store.insertSession({ digest: digest(token), username, createdDate: new Date(now).toISOString(), expiresDate: new Date(now + SESSION_TTL_MS).toISOString() });
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.store.pruneSessions(new Date(now).toISOString()).catch((err: unknown) => this.logger.warn({ err }, 'expired dashboard sessions could not be deleted'));
    }
    return { token, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** The session's user and sign-in time, or undefined for a missing, unknown or expired session. */
  async info(token: string | undefined): Promise<SessionInfo | undefined> {
    if (!token) return undefined;
    const session = await this.store.getSession(digest(token));
    if (!session || Date.parse(session.expiresDate) <= this.clock.now()) return undefined;
    return { username: session.username, created: Date.parse(session.createdDate) };
  }

  /** Ends every session of the user but `keep` (a cookie value). */
  async revokeUser(username: string, keep?: string): Promise<void> {
    await this.store.deleteUserSessions(username, keep === undefined ? undefined : digest(keep));
  }

  async revoke(token: string | undefined): Promise<void> {
    if (token) await this.store.deleteSession(digest(token));
  }
}
