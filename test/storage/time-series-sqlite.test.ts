import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { openSqliteTimeSeriesStorage } from '../../src/storage/sqlite/time-series/index.js';
import type { Storage } from '../../src/storage/storage.js';
import { timeSeriesConformance } from './time-series-conformance.js';

timeSeriesConformance('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ts-'));
  const file = path.join(dir, 'tether.db');
  const opened: Storage[] = [await openSqliteStorage({ file })];
  const storage = openSqliteTimeSeriesStorage(opened[0]!);
  return {
    storage,
    reopen: async () => {
      // The time series storage shares the register's writer: reopen both.
      await opened[0]!.close();
      opened.push(await openSqliteStorage({ file }));
      return openSqliteTimeSeriesStorage(opened.at(-1)!);
    },
    cleanup: async () => {
      await storage.close();
      for (const s of opened) await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
