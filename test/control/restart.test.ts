import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import { api, startServer } from '../crash/harness.js';
import { Inbox } from '../transport/harness.js';
import { tempDir } from '../helpers/tmp.js';

const VERSION = 'demo_application_v1';
type Command = { commandId: string; status: string };

describe('commands and configurations across a SIGKILL', () => {
  // Longer than the 30 s default: a `tether start` process, SIGKILLed and started again.
  it('a pending command and a configuration survive SIGKILL and reach the device exactly once after the restart', { timeout: 120_000 }, async (t) => {
    const dataDir = tempDir(t, 'tether-control-');
    const first = await startServer(t, dataDir);
    const endpoint = await api<{ endpointId: string; token: string }>(first, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: VERSION } });
    const command = await api<Command>(first, 'POST', `/cex/api/v1/endpoints/${endpoint.endpointId}/commands/reboot?awaitTimeout=0&commandTtl=600000`, { at: 'night' });
    const config = await api<{ configId: string }>(first, 'PUT', `/ecr/api/v1/endpoints/${endpoint.endpointId}/app-versions/${VERSION}`, { mode: 'eco' });
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = await startServer(t, dataDir);
    const device = await connectAsync(`mqtt://127.0.0.1:${second.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    t.after(() => device.endAsync(true).catch(() => {}));
    const inbox = new Inbox(device);
    const topic = (extension: string, resource: string) => `kp1/${VERSION}/${extension}/${endpoint.token}/${resource}`;
    await device.publishAsync(topic('epmx', 'update/keys/1'), '{"fw":"1.0"}', { qos: 1 });
    const commands = await inbox.next(topic('cex', 'command/reboot/status'));
    assert.deepEqual(JSON.parse(commands.payload.toString()), [{ id: Number(command.commandId), payload: { at: 'night' } }]);
    const pushed = await inbox.next(topic('cmx', 'config/json/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), { configId: config.configId, config: { mode: 'eco' } });

    await device.publishAsync(topic('cex', 'result/reboot/2'), JSON.stringify([{ id: Number(command.commandId), statusCode: 200 }]), { qos: 1 });
    await inbox.next(topic('cex', 'result/reboot/2/status'));
    // Exactly once: a further request on the session brings nothing more.
    await device.publishAsync(topic('epmx', 'get/keys/3'), '', { qos: 1 });
    await inbox.next(topic('epmx', 'get/keys/3/status'));
    assert.equal(inbox.on(topic('cex', 'command/reboot/status')).length, 1);
    assert.equal((await api<Command>(second, 'GET', `/cex/api/v1/endpoints/${endpoint.endpointId}/commands/reboot/${command.commandId}`)).status, 'EXECUTED');
  });
});
