/**
 * Users, roles, API keys, sessions, sign-in throttles, the audit log and metadata history
 * (docs/accounts.md), wired over one AccountStorage. The composition root builds it once; the
 * dashboard (sign-in) and the REST API (access control, /api/v1/users, /api/v1/api-keys,
 * /api/v1/audit) share it.
 */
import type { EventBus } from '../bus/bus.js';
import type { Principal, UserRecord } from '../core/accounts.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { AccountStorage } from '../storage/accounts.js';
import { ApiKeys } from './api-keys.js';
import { AuditLog, DEFAULT_AUDIT_RETENTION_DAYS } from './audit.js';
import { MetadataHistory } from './metadata-history.js';
import { SessionStore } from './sessions.js';
import { SignInLimiter } from './sign-in-limiter.js';
import { Users } from './users.js';

export { apiKeyView } from './api-keys.js';
export { Users, userView } from './users.js';

export interface AccountsDeps {
  store: AccountStorage;
  bus: EventBus;
  logger: Logger;
  clock?: Clock;
  auditRetentionDays?: number;
}

export interface Accounts {
  store: AccountStorage;
  users: Users;
  apiKeys: ApiKeys;
  audit: AuditLog;
  history: MetadataHistory;
  sessions: SessionStore;
  limiter: SignInLimiter;
  clock: Clock;
  /** The signed-in user behind a session cookie, with their current role; undefined when the session is over. */
  sessionPrincipal(cookie: string | undefined): Promise<(Principal & { user: UserRecord }) | undefined>;
  close(): Promise<void>;
}

export async function createAccounts(deps: AccountsDeps): Promise<Accounts> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: 'accounts' });
  const retentionDays = deps.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
  const sessions = new SessionStore(deps.store, clock, logger);
  const users = new Users({ store: deps.store, clock, logger, endSessions: (username, keep) => sessions.revokeUser(username, keep) });
  const apiKeys = new ApiKeys({ store: deps.store, clock, logger });
  const audit = new AuditLog({ store: deps.store, clock, logger, retentionDays });
  const history = new MetadataHistory({ store: deps.store, bus: deps.bus, clock, logger, retentionDays });
  return {
    store: deps.store,
    users,
    apiKeys,
    audit,
    history,
    sessions,
    limiter: new SignInLimiter(clock),
    clock,
    async sessionPrincipal(cookie) {
      const session = await sessions.info(cookie);
      if (!session) return undefined;
      const user = await users.find(session.username);
      // A password changed since sign-in (here, or offline by `tether admin reset-password`) ends the session.
      if (!user || session.created < Date.parse(user.passwordChangedDate)) return undefined;
      return { kind: 'user', name: user.username, role: user.role, user };
    },
    async close() {
      audit.close();
      await history.close();
    },
  };
}
