import { createAccounts, type Accounts } from '../../src/accounts/index.js';
import type { Clock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import type { TestServices } from './services.js';

/** Accounts in the test services' place (their SQLite file or database); close() before the services. */
export async function createTestAccounts(services: TestServices, options: { clock?: Clock; auditRetentionDays?: number } = {}): Promise<Accounts & { closeAll(): Promise<void> }> {
  const store = await services.place.openAccounts();
  const accounts = await createAccounts({
    store,
    bus: services.bus,
    logger: silentLogger,
    ...(options.clock && { clock: options.clock }),
    ...(options.auditRetentionDays !== undefined && { auditRetentionDays: options.auditRetentionDays }),
  });
  return {
    ...accounts,
    async closeAll() {
      await accounts.close();
      await store.close();
    },
  };
}
