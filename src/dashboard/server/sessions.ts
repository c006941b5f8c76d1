import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { JsonValue } from '../../core/types.js';
import type { Storage } from '../../storage/storage.js';

export const SESSIONS_SETTING = 'dashboard.sessions';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 200;

interface Session {
  username: string;
  expires: number;
  /** Sign-in time: a session older than the user's last password change is over. */
  created: number;
}

export interface SessionInfo {
  username: string;
  created: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Signed-in browsers. Checked synchronously on every API request, so the sessions live in memory;
 * they are also saved (as SHA-256 of the cookie value, like tokens) so a restart keeps people signed in.
 */
export class SessionStore {
  private constructor(
    private readonly sessions: Map<string, Session>,
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  static async load(storage: Storage, clock: Clock, logger: Logger): Promise<SessionStore> {
    const saved = await storage.getSetting(SESSIONS_SETTING);
    const sessions = new Map<string, Session>();
    if (typeof saved === 'object' && saved !== null && !Array.isArray(saved)) {
      for (const [hash, value] of Object.entries(saved)) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
        const { username, expires, created } = value;
        if (typeof username === 'string' && typeof expires === 'number' && expires > clock.now()) {
          // Sessions saved before `created` existed began one TTL before they expire.
          sessions.set(hash, { username, expires, created: typeof created === 'number' ? created : expires - SESSION_TTL_MS });
        }
      }
    }
    return new SessionStore(sessions, storage, clock, logger);
  }

  async create(username: string): Promise<{ token: string; maxAgeSeconds: number }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    this.sessions.set(digest(token), { username, expires: now + SESSION_TTL_MS, created: now });
    this.prune();
    await this.save();
    return { token, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** The signed-in username, or undefined for a missing, unknown or expired session. */
  lookup(token: string | undefined): string | undefined {
    return this.info(token)?.username;
  }

  /** The session's user and sign-in time, or undefined for a missing, unknown or expired session. */
  info(token: string | undefined): SessionInfo | undefined {
    if (!token) return undefined;
    const session = this.sessions.get(digest(token));
    if (!session) return undefined;
    if (session.expires <= this.clock.now()) {
      this.sessions.delete(digest(token));
      return undefined;
    }
    return { username: session.username, created: session.created };
  }

  /** Ends every session of the user but `keep` (a cookie value). */
  async revokeUser(username: string, keep?: string): Promise<void> {
    const kept = keep === undefined ? undefined : digest(keep);
    let changed = false;
    for (const [hash, session] of this.sessions) {
      if (session.username === username && hash !== kept) {
        this.sessions.delete(hash);
        changed = true;
      }
    }
    if (changed) await this.save();
  }

  async revoke(token: string | undefined): Promise<void> {
    if (!token || !this.sessions.delete(digest(token))) return;
    await this.save();
  }

  private prune(): void {
    const now = this.clock.now();
    for (const [hash, session] of this.sessions) if (session.expires <= now) this.sessions.delete(hash);
    // Oldest first (Map keeps insertion order): a flood of sign-ins cannot grow the document forever.
    while (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }

  private async save(): Promise<void> {
    const doc: Record<string, JsonValue> = {};
    for (const [hash, s] of this.sessions) doc[hash] = { username: s.username, expires: s.expires, created: s.created };
    try {
      await this.storage.putSetting(SESSIONS_SETTING, doc);
    } catch (err) {
      // The in-memory session still works; only surviving a restart is lost.
      this.logger.warn({ err }, 'dashboard sessions could not be saved');
    }
  }
}

/** Reads one cookie from a Cookie header (RFC 6265 `name=value; name2=value2`). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(name: string, value: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${options.maxAgeSeconds}`];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
