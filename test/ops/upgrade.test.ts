import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from '../helpers/test.js';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { packageRoot } from '../../src/platform/package-root.js';
import { startTether } from '../../src/platform/tether.js';
import { silentLogger } from '../../src/core/log.js';
import { api, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { Inbox } from '../transport/harness.js';

const FIXTURE = path.join(packageRoot(), 'test/fixtures/release-731749d/tether.db.gz');
const ADMIN_KEY = 'fixture-admin-key-0123456789abcdef';
const VERSION = 'demo_application_v1';

function fixtureDataDir(t: { after(fn: () => unknown): void }): string {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'tether.db'), gunzipSync(fs.readFileSync(FIXTURE)));
  return dir;
}

describe('upgrades', () => {
  it('opens a data directory made by the previous release: its devices, tokens, users, credentials and time series work, and the new features with them', async (t) => {
    const dataDir = fixtureDataDir(t);
    // The fixture's points are from 2025: a retention that keeps them, or its sweep may remove them first.
    const configFile = path.join(dataDir, 'tether.json');
    fs.writeFileSync(configFile, JSON.stringify({ timeSeries: { retentionDays: 36500 } }));
    const running = await start(t, await testConfig(dataDir, ['--config', configFile], { TETHER_ADMIN_API_KEY: ADMIN_KEY }));
    const endpoint = await api<{ metadata: Record<string, unknown> }>(running, 'GET', '/epr/api/v1/endpoints/fixture-ep-2?include=metadata');
    assert.equal(endpoint.status, 200);
    assert.deepEqual(endpoint.body.metadata, { meterDescription: 'Meter 2', model: 'MySmartMeter A300', fw: '1.1' });
    assert.equal((await api<{ role: string }>(running, 'GET', '/api/v1/users/olga')).body.role, 'operator');
    const credentials = await api<Array<{ username: string }>>(running, 'GET', '/cm/api/v1/client-credentials');
    assert.deepEqual(credentials.body.map((c) => c.username), ['gw1']);
    type Last = Array<Record<string, Record<string, Array<{ timestamp: string; values: { value: number } }>>>>;
    const last = await api<Last>(running, 'GET', '/epts/api/v1/applications/demo_application/time-series/last?timeSeriesName=auto~temperature&endpointId=fixture-ep-1');
    assert.deepEqual(last.body[0]?.['fixture-ep-1']?.['auto~temperature']?.[0], { timestamp: '2025-12-01T02:00:00.000Z', values: { value: 20 } });

    // The old token works, and the version now carries configurations and commands.
    const command = await api<{ commandId: string }>(running, 'POST', '/cex/api/v1/endpoints/fixture-ep-1/commands/reboot?awaitTimeout=0', {});
    assert.equal(command.status, 202);
    const device = await connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    t.after(() => device.endAsync(true).catch(() => {}));
    const inbox = new Inbox(device);
    const token = '9xU516-pcIoQMzRWLBe2vw';
    const topic = `kp1/${VERSION}/epmx/${token}/update/keys/1`;
    await device.publishAsync(topic, '{"fw":"2.0"}', { qos: 1 });
    assert.equal((await inbox.nextOf([`${topic}/status`, `${topic}/error`])).topic, `${topic}/status`);
    const pushed = await inbox.next(`kp1/${VERSION}/cex/${token}/command/reboot/status`);
    assert.deepEqual(JSON.parse(pushed.payload.toString()), [{ id: Number(command.body.commandId), payload: {} }]);
  });

  it('refuses a data directory from a newer schema with one line naming both versions, and writes nothing to it', async (t) => {
    const dataDir = fixtureDataDir(t);
    const file = path.join(dataDir, 'tether.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const hash = () => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const before = hash();
    const config = await testConfig(dataDir, [], { TETHER_ADMIN_API_KEY: ADMIN_KEY });
    await assert.rejects(startTether(config, { logger: silentLogger }), (err: Error) => {
      assert.match(err.message, /\b99\b/);
      assert.match(err.message, /\b\d+\b.*\b\d+\b/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal(hash(), before, 'the newer database is untouched');
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['tether.db'], 'no other file was created');
  });
});
