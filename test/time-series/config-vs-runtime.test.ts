/**
 * Issue 18 trap 5: time series definitions edited at run time (REST, the dashboard's dialog) and the
 * config file's `kaa:` block. The rule: the file's block is applied when it changed since it was last
 * applied; until then run-time edits survive restarts. The log says which won.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../src/core/log.js';
import { startTether } from '../../src/platform/tether.js';
import { test } from '../helpers/test.js';
import { tempDir } from '../helpers/tmp.js';
import { api, testConfig } from '../platform/helpers.js';
import { TUTORIAL_YAML } from './fixtures.js';

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: (_obj, msg) => void lines.push(`info ${msg ?? ''}`),
    warn: (_obj, msg) => void lines.push(`warn ${msg ?? ''}`),
    error: (_obj, msg) => void lines.push(`error ${msg ?? ''}`),
    child: () => logger,
  };
  return logger;
}

type Definitions = { timeSeries: Array<{ name: string }> };

test('time series definitions edited at run time survive a restart with --config, until the file changes', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(file, TUTORIAL_YAML);
  const route = '/api/v1/applications/demo_application/time-series';
  const run = async (lines: string[]) => {
    const running = await startTether(await testConfig(path.join(dir, 'data'), ['--config', file]), { logger: recordingLogger(lines) });
    t.after(() => running.stop());
    return running;
  };

  const firstLog: string[] = [];
  const first = await run(firstLog);
  const edited = (await api<Definitions>(first, 'GET', route)).body;
  edited.timeSeries.push({ name: 'Pressure', valueField: 'pressure', tagFields: [] } as { name: string });
  assert.equal((await api(first, 'PUT', route, edited)).status, 200);
  assert.ok(firstLog.some((line) => /changed at run time; they are kept across restarts until the config file's kaa\.applications\.demo_application block changes/.test(line)), firstLog.join('\n'));
  await first.stop();

  const secondLog: string[] = [];
  const second = await run(secondLog);
  const kept = (await api<Definitions>(second, 'GET', route)).body;
  assert.deepEqual(kept.timeSeries.map((s) => s.name), ['Temperature', 'FuelLevel', 'Location', 'Pressure']);
  assert.ok(secondLog.some((line) => /^info .*keeping the edits made at run time/.test(line)), secondLog.join('\n'));
  await second.stop();

  // The file says otherwise: its block changed, so it wins, with a warning.
  fs.writeFileSync(file, TUTORIAL_YAML.replace('name: FuelLevel', 'name: Fuel'));
  const thirdLog: string[] = [];
  const third = await run(thirdLog);
  const replaced = (await api<Definitions>(third, 'GET', route)).body;
  assert.deepEqual(replaced.timeSeries.map((s) => s.name), ['Temperature', 'Fuel', 'Location']);
  assert.ok(thirdLog.some((line) => /^warn .*replaced by the config file's kaa\.applications\.demo_application block, which changed/.test(line)), thirdLog.join('\n'));
});
