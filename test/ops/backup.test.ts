import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import { runCli } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/io.js';
import { createHash, randomBytes } from 'node:crypto';
import { ADMIN_API_KEY, api, createDevices, startServer, startTraffic } from '../crash/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { Inbox } from '../transport/harness.js';

const VERSION = 'demo_application_v1';

function captureIo(cwd: string): Io & { lines: string[] } {
  const lines: string[] = [];
  return { lines, cwd, env: {}, out: (text) => void lines.push(text), err: (text) => void lines.push(text) };
}

describe('backup and restore of a single node', () => {
  // Longer than the 30 s default: two `tether start` processes, devices writing throughout, a backup and a restore.
  it('takes a consistent backup while devices write, and the restored instance serves every device with its old token', { timeout: 120_000 }, async (t) => {
    const work = tempDir(t, 'tether-backup-test-');
    const dataDir = path.join(work, 'data');
    const server = await startServer(t, dataDir);
    const devices = await createDevices(server, 8);
    const pending = await api<{ commandId: string }>(server, 'POST', `/cex/api/v1/endpoints/${devices[0]!.endpointId}/commands/reboot?awaitTimeout=0&commandTtl=600000`, { at: 'night' });
    const config = await api<{ configId: string }>(server, 'PUT', `/ecr/api/v1/app-versions/${VERSION}`, { interval: 60 });
    await api(server, 'POST', '/otao/api/v1/applications/demo_application/software', { version: '1.1.0', upgradableFrom: ['1.0.0'], specification: { reboot: true } });
    const firmware = randomBytes(300_000);
    const packagePath = '/otao/api/v1/applications/demo_application/software/1.1.0/package';
    const uploaded = await fetch(`http://127.0.0.1:${server.httpPort}${packagePath}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_API_KEY}` }, body: firmware, signal: AbortSignal.timeout(10_000) });
    assert.equal(uploaded.status, 201);
    const sensor = await connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    t.after(() => sensor.endAsync(true).catch(() => {}));
    const sensorInbox = new Inbox(sensor);
    const dcx = `kp1/${VERSION}/dcx/${devices[1]!.token}/json/1`;
    await sensor.publishAsync(dcx, JSON.stringify([{ temperature: 21.5 }]), { qos: 1 });
    assert.equal((await sensorInbox.nextOf([`${dcx}/status`, `${dcx}/error`])).topic, `${dcx}/status`);

    const traffic = await startTraffic(devices, server.mqttPort, 2);
    t.after(() => traffic.stop());
    await waitFor('every device to have an update acknowledged before the backup', () => traffic.allAcked(), 10_000);
    const file = path.join(work, 'tether.backup');
    const io = captureIo(work);
    const code = await runCli(['backup', file, '--data-dir', dataDir], io);
    assert.equal(code, 0, io.lines.join('\n'));
    assert.match(io.lines.join('\n'), /Backed up .* to .*tether\.backup/);
    const acksDuringBackup = traffic.acks;
    await waitFor('devices to keep being acknowledged after the backup', () => traffic.acks > acksDuringBackup, 5000);
    await traffic.stop();

    const restoredDir = path.join(work, 'restored');
    const restoreIo = captureIo(work);
    assert.equal(await runCli(['restore', file, '--data-dir', restoredDir], restoreIo), 0, restoreIo.lines.join('\n'));
    const again = captureIo(work);
    assert.equal(await runCli(['restore', file, '--data-dir', restoredDir], again), 1, 'a second restore over the first is refused');
    assert.match(again.lines.join('\n'), /already holds tether\.db/);

    const restored = await startServer(t, restoredDir);
    for (const device of devices) {
      const client = await connectAsync(`mqtt://127.0.0.1:${restored.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
      t.after(() => client.endAsync(true).catch(() => {}));
      const inbox = new Inbox(client);
      const topic = `kp1/${VERSION}/epmx/${device.token}/get/keys/1`;
      await client.publishAsync(topic, '', { qos: 1 });
      const reply = await inbox.nextOf([`${topic}/status`, `${topic}/error`]);
      assert.equal(reply.topic, `${topic}/status`, `device ${device.endpointId} was refused: ${reply.payload.toString()}`);
      if (device === devices[0]) {
        const pushed = await inbox.next(`kp1/${VERSION}/cex/${device.token}/command/reboot/status`);
        assert.deepEqual(JSON.parse(pushed.payload.toString()), [{ id: Number(pending.commandId), payload: { at: 'night' } }]);
        const configured = await inbox.next(`kp1/${VERSION}/cmx/${device.token}/config/json/status`);
        assert.equal((JSON.parse(configured.payload.toString()) as { configId: string }).configId, config.configId);
      }
    }
    // The restored admin API key file: the same key works (the harness starts both with it).
    const endpoint = await api<{ endpointId: string; metadata?: Record<string, unknown> }>(restored, 'GET', `/epr/api/v1/endpoints/${devices[2]!.endpointId}?include=metadata`);
    assert.ok(typeof endpoint.metadata?.['seq'] === 'number', 'metadata written before the backup is there');
    type Last = Array<Record<string, Record<string, Array<{ values: { value: number } }>>>>;
    const last = await api<Last>(restored, 'GET', `/epts/api/v1/applications/demo_application/time-series/last?timeSeriesName=auto~temperature&endpointId=${devices[1]!.endpointId}`);
    assert.equal(last[0]?.[devices[1]!.endpointId]?.['auto~temperature']?.[0]?.values.value, 21.5, 'time series are there');
    const software = await api<Array<{ version: string }>>(restored, 'GET', '/otao/api/v1/applications/demo_application/software');
    assert.deepEqual(software.map((s) => s.version), ['1.1.0'], 'software versions (software.db) are there');
    const downloaded = await fetch(`http://127.0.0.1:${restored.httpPort}${packagePath}`, { headers: { authorization: `Bearer ${ADMIN_API_KEY}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(downloaded.status, 200);
    const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
    assert.equal(sha(new Uint8Array(await downloaded.arrayBuffer())), sha(firmware), 'the package (packages.db) is there, byte for byte');
  });

  it('refuses a file that is not a backup, and a data directory without Tether data', async (t) => {
    const work = tempDir(t, 'tether-backup-test-');
    fs.writeFileSync(path.join(work, 'junk'), 'hello\n');
    const io = captureIo(work);
    assert.equal(await runCli(['restore', 'junk', '--data-dir', 'x'], io), 1);
    assert.match(io.lines.join('\n'), /not a Tether backup/);
    const empty = captureIo(work);
    assert.equal(await runCli(['backup', 'out', '--data-dir', 'nothing-here'], empty), 1);
    assert.match(empty.lines.join('\n'), /holds no tether\.db/);
    assert.equal(fs.existsSync(path.join(work, 'out')), false);
  });
});
