import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { Ajv } from 'ajv';
import { commandResponseSchema } from '../../src/extensions/cex/schemas.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { type Device, api, connectDevice, startPlatform } from './harness.js';
import { waitFor } from '../helpers/wait.js';

const ajv = new Ajv({ strict: false });
const { $schema: _s, ...responseSchema } = commandResponseSchema;
const validResponse = ajv.compile(responseSchema);

type Command = { commandId: string; commandType: string; endpointId: string; status: string; statusCode: number | null; reasonPhrase: string | null; requestPayload: unknown; responsePayload: unknown; createdAt: string; updatedAt: string };
type Pushed = Array<{ id: number; payload: unknown }>;

const sendPath = (endpointId: string, type: string, query = '') => `/cex/api/v1/endpoints/${endpointId}/commands/${type}${query}`;

/** Answers every command pushed of `type` with 200 and its payload echoed. */
function answerEverything(device: Device, type: string): void {
  device.client.on('message', (topic, payload) => {
    if (topic !== device.topic('cex', `command/${type}/status`)) return;
    const commands = JSON.parse(payload.toString()) as Pushed;
    const results = commands.map((c) => ({ id: c.id, statusCode: 200, reasonPhrase: 'OK', payload: { echo: c.payload } }));
    void device.client.publishAsync(device.topic('cex', `result/${type}`), JSON.stringify(results), { qos: 1 });
  });
}

describe('11/CEP commands over MQTT (Kaa CEX) and over REST', () => {
  it('a command reaches a device that never subscribed, and the POST answers 200 with its result', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    answerEverything(device, 'reboot');
    const sent = await api<Command>(running, 'POST', sendPath(device.endpointId, 'reboot', '?awaitTimeout=5'), { delay: 3 });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.status, 'EXECUTED');
    assert.equal(sent.body.statusCode, 200);
    assert.equal(sent.body.reasonPhrase, 'OK');
    assert.deepEqual(sent.body.requestPayload, { delay: 3 });
    assert.deepEqual(sent.body.responsePayload, { echo: { delay: 3 } });
    assert.match(sent.body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const pushed = device.inbox.on(device.topic('cex', 'command/reboot/status'));
    assert.equal(pushed.length, 1);
    const body = JSON.parse(pushed[0]!.payload.toString()) as Pushed;
    assert.ok(validResponse(body));
    assert.deepEqual(body, [{ id: Number(sent.body.commandId), payload: { delay: 3 } }]);
  });

  it('answers 202 with Location when the device does not answer in time; the command stays PENDING', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const response = await fetch(`http://127.0.0.1:${running.httpPort}${sendPath(device.endpointId, 'measure', '?awaitTimeout=0')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${running.adminApiKey}`, 'content-type': 'text/plain' },
      body: 'now please',
    });
    assert.equal(response.status, 202);
    const command = (await response.json()) as Command;
    assert.equal(command.status, 'PENDING');
    assert.deepEqual(command.requestPayload, 'now please');
    const location = response.headers.get('location');
    assert.equal(location, `/cex/api/v1/endpoints/${device.endpointId}/commands/measure/${command.commandId}`);
    assert.equal((await api<Command>(running, 'GET', location!)).body.status, 'PENDING');

    // 11/CEP command request: every outstanding command of the type.
    const outstanding = await device.request('cex', 'command/measure', {}, 5);
    assert.deepEqual(outstanding, { kind: 'status', json: [{ id: Number(command.commandId), payload: 'now please' }] });
    assert.deepEqual((await device.request('cex', 'command/other', {}, 6)).json, []);

    const result = await device.request('cex', 'result/measure', [{ id: Number(command.commandId), statusCode: 200, payload: 21.5 }], 7);
    assert.equal(result.kind, 'status');
    const done = await api<Command>(running, 'GET', location!);
    assert.equal(done.body.status, 'EXECUTED');
    assert.equal(done.body.responsePayload, 21.5);
    assert.deepEqual((await device.request('cex', 'command/measure', {}, 8)).json, [], 'an executed command is no longer outstanding');
    assert.equal((await api<Command>(running, 'GET', sendPath(device.endpointId, 'measure', '/last'))).body.commandId, command.commandId);
  });

  it('refuses a result for a command the endpoint never had, and takes a repeated one without change', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    const other = await createEndpoint(running);
    const foreign = await api<Command>(running, 'POST', sendPath(other.endpointId, 'x', '?awaitTimeout=0'), {});
    const unknown = await device.request('cex', 'result/x', [{ id: Number(foreign.body.commandId), statusCode: 200 }], 2);
    assert.equal(unknown.kind, 'error');
    assert.equal((unknown.json as { statusCode: number }).statusCode, 404);
    assert.equal((await api<Command>(running, 'GET', `/cex/api/v1/endpoints/${other.endpointId}/commands/x/${foreign.body.commandId}`)).body.status, 'PENDING');

    const mine = await api<Command>(running, 'POST', sendPath(device.endpointId, 'x', '?awaitTimeout=0'), {});
    const id = Number(mine.body.commandId);
    assert.equal((await device.request('cex', 'result/x', [{ id, statusCode: 500, reasonPhrase: 'disk full' }], 3)).kind, 'status');
    // A retransmission (or a second answer) changes nothing: the first result stands.
    assert.equal((await device.request('cex', 'result/x', { id, statusCode: 200 }, 4)).kind, 'status');
    const stored = await api<Command>(running, 'GET', `/cex/api/v1/endpoints/${device.endpointId}/commands/x/${id}`);
    assert.deepEqual({ status: stored.body.status, code: stored.body.statusCode, reason: stored.body.reasonPhrase }, { status: 'EXECUTED', code: 500, reason: 'disk full' });
  });

  it('answers malformed requests with /error', async (t) => {
    const running = await startPlatform(t);
    const device = await connectDevice(t, running);
    for (const [resource, payload] of [
      ['command/reboot', '{"observe":1}'],
      ['command/reboot', 'nope'],
      ['result/reboot', '[{"id":1}]'],
      ['result/reboot', '[{"id":"1","statusCode":200}]'],
      ['result/reboot', '[]'],
      ['result/reboot', '{"id":1,"statusCode":200,"extra":true}'],
      ['command/bad.type', '{}'],
      ['command', '{}'],
      ['commands/reboot', '{}'],
    ] as const) {
      const reply = await device.request('cex', resource, payload, Math.floor(Math.random() * 1e6) + 10);
      assert.equal(reply.kind, 'error', `${resource} ${payload}`);
      assert.ok([400, 404].includes((reply.json as { statusCode: number }).statusCode), `${resource} ${payload}: ${JSON.stringify(reply.json)}`);
    }
  });

  it('delivers commands sent while the device was offline when it connects, once per session, until it reports a result', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const a = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'reboot', '?awaitTimeout=0'), { n: 1 });
    const b = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'reboot', '?awaitTimeout=0'), { n: 2 });
    const c = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'echo', '?awaitTimeout=0'), 'hi');
    assert.equal(a.status, 202);

    const first = await connectDevice(t, running, { endpoint });
    const reboots = await first.inbox.next(first.topic('cex', 'command/reboot/status'));
    assert.deepEqual(JSON.parse(reboots.payload.toString()), [
      { id: Number(a.body.commandId), payload: { n: 1 } },
      { id: Number(b.body.commandId), payload: { n: 2 } },
    ]);
    const echoes = await first.inbox.next(first.topic('cex', 'command/echo/status'));
    assert.deepEqual(JSON.parse(echoes.payload.toString()), [{ id: Number(c.body.commandId), payload: 'hi' }]);
    assert.ok((await api<Command>(running, 'GET', sendPath(endpoint.endpointId, 'reboot', `/${a.body.commandId}`))).body.status === 'PENDING');
    await first.request('cex', 'result/reboot', [{ id: Number(a.body.commandId), statusCode: 200 }], 3);
    await first.client.endAsync();

    // Reconnected: only what still has no result, sent again.
    const second = await connectDevice(t, running, { endpoint });
    const again = await second.inbox.next(second.topic('cex', 'command/reboot/status'));
    assert.deepEqual(JSON.parse(again.payload.toString()), [{ id: Number(b.body.commandId), payload: { n: 2 } }]);
    await second.request('epmx', 'get/keys', '', 4);
    assert.equal(second.inbox.on(second.topic('cex', 'command/reboot/status')).length, 1, 'once per session');
  });

  it('pushes to a session that only subscribed (the Kaa Node client), and honours observe: false', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const waiting = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'blink', '?awaitTimeout=0'), { times: 2 });
    const node = await connectDevice(t, running, { endpoint, greet: false });
    await node.client.subscribeAsync(node.topic('cex', 'command/blink/+'), { qos: 1 });
    const pushed = await node.inbox.next(node.topic('cex', 'command/blink/status'));
    assert.deepEqual(JSON.parse(pushed.payload.toString()), [{ id: Number(waiting.body.commandId), payload: { times: 2 } }]);

    const quiet = await connectDevice(t, running, { endpoint });
    assert.equal((await quiet.request('cex', 'command/blink', { observe: false }, 2)).kind, 'status');
    const next = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'blink', '?awaitTimeout=0'), { times: 3 });
    await waitFor('the subscriber gets the new command', async () => node.inbox.on(node.topic('cex', 'command/blink/status')).length, { until: (n) => n === 2 });
    assert.deepEqual(JSON.parse(node.inbox.on(node.topic('cex', 'command/blink/status'))[1]!.payload.toString()), [{ id: Number(next.body.commandId), payload: { times: 3 } }]);
    await quiet.request('epmx', 'get/keys', '', 3);
    // It was sent what was outstanding when it showed up, before it said observe: false; nothing after.
    const toQuiet = quiet.inbox.on(quiet.topic('cex', 'command/blink/status')).flatMap((m) => JSON.parse(m.payload.toString()) as Pushed);
    assert.deepEqual(toQuiet.map((c) => c.id), [Number(waiting.body.commandId)]);
  });

  it('expires a command whose TTL ran out: never delivered, no result taken', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const sent = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'reboot', '?awaitTimeout=0&commandTtl=50'), {});
    const expired = await waitFor('the command expired', async () => (await api<Command>(running, 'GET', sendPath(endpoint.endpointId, 'reboot', `/${sent.body.commandId}`))).body.status, { until: (s) => s === 'EXPIRED', timeoutMs: 5000 });
    assert.equal(expired, 'EXPIRED');
    const device = await connectDevice(t, running, { endpoint });
    assert.deepEqual((await device.request('cex', 'command/reboot', {}, 2)).json, []);
    assert.equal(device.inbox.on(device.topic('cex', 'command/reboot/status')).length, 0);
    const late = await device.request('cex', 'result/reboot', [{ id: Number(sent.body.commandId), statusCode: 200 }], 3);
    assert.equal(late.kind, 'status');
    assert.equal((await api<Command>(running, 'GET', sendPath(endpoint.endpointId, 'reboot', `/${sent.body.commandId}`))).body.status, 'EXPIRED');
  });

  it('sends one command to many endpoints as a task whose progress counts the results', async (t) => {
    const running = await startPlatform(t);
    const online = [await connectDevice(t, running), await connectDevice(t, running)];
    for (const device of online) answerEverything(device, 'sync');
    const offline = await createEndpoint(running);
    const batch = await api<{ taskId: string }>(running, 'POST', '/cex/api/v1/endpoints/commands/sync/batch/by-endpoints', {
      payload: { full: true },
      payloadContentType: 'application/json',
      endpointIds: [...online.map((d) => d.endpointId), offline.endpointId],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    type Task = { taskId: string; endpointCount: number; pending: number; executed: number; expired: number; executedCommands?: Command[] };
    const progress = await waitFor('both online devices answered', async () => (await api<Task>(running, 'GET', `/cex/api/v1/endpoints/commands/batch/tasks/${batch.body.taskId}`)).body, { until: (task) => task.executed === 2 });
    assert.deepEqual({ count: progress.endpointCount, pending: progress.pending, executed: progress.executed, expired: progress.expired }, { count: 3, pending: 1, executed: 2, expired: 0 });
    const listed = await api<{ content: Task[]; totalElements: number }>(running, 'GET', '/cex/api/v1/endpoints/commands/batch/tasks?appName=demo_application');
    assert.equal(listed.body.content[0]?.taskId, batch.body.taskId);
    const detail = await api<Task>(running, 'GET', `/cex/api/v1/endpoints/commands/batch/tasks/${batch.body.taskId}?include=commands`);
    assert.equal(detail.body.executedCommands?.length, 2);

    const unknown = await api<{ code: string }>(running, 'POST', '/cex/api/v1/endpoints/commands/sync/batch/by-endpoints', { endpointIds: [online[0]!.endpointId, 'nope'] });
    assert.equal(unknown.status, 404);
  });

  it('sends a batch to every endpoint an Endpoint List search matches', async (t) => {
    const running = await startPlatform(t);
    const kitchen = await connectDevice(t, running, { endpoint: await createEndpoint(running, { metadata: { room: 'kitchen' } }) });
    await createEndpoint(running, { metadata: { room: 'garage' } });
    const batch = await api<{ taskId: string; endpointCount: number }>(running, 'POST', '/cex/api/v1/endpoints/commands/lights/batch/by-query?applicationName=demo_application&filter=room%3D%22kitchen%22', { payload: 'off' });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.equal(batch.body.endpointCount, 1);
    const pushed = await kitchen.inbox.next(kitchen.topic('cex', 'command/lights/status'));
    assert.equal((JSON.parse(pushed.payload.toString()) as Pushed)[0]?.payload, 'off');
  });

  it('addresses every match of a search, not only the first page of the Endpoint List', async (t) => {
    const running = await startPlatform(t);
    const ids = new Set<string>();
    // One more than a page of the registry (1,000).
    for (let i = 0; i < 1001; i++) ids.add((await running.services.registry.createEndpoint({ appVersionName: 'demo_application_v1' })).endpoint.endpointId);
    const batch = await api<{ taskId: string; endpointCount: number }>(running, 'POST', '/cex/api/v1/endpoints/commands/lights/batch/by-query?applicationName=demo_application', { payload: 'off' });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.equal(batch.body.endpointCount, 1001);
  });

  it('lists, finds and deletes commands over Kaa CEX paths', async (t) => {
    const running = await startPlatform(t);
    const endpoint = await createEndpoint(running);
    const one = await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'a', '?awaitTimeout=0'), 1);
    await api<Command>(running, 'POST', sendPath(endpoint.endpointId, 'b', '?awaitTimeout=0'), 2);
    const list = await api<Command[]>(running, 'GET', `/cex/api/v1/endpoints/commands?endpointId=${endpoint.endpointId}&commandTypes=a`);
    assert.deepEqual(list.body.map((c) => c.commandType), ['a']);
    const page = await api<{ content: Command[]; totalElements: number }>(running, 'GET', '/cex/api/v1/endpoints/commands/demo_application?size=1');
    assert.equal(page.body.totalElements, 2);
    assert.equal(page.body.content.length, 1);
    const last = await api<Command[]>(running, 'POST', '/cex/api/v1/endpoints/commands/last', { endpointIds: [endpoint.endpointId], commandTypes: ['a', 'b', 'c'] });
    assert.deepEqual(last.body.map((c) => c.commandType).sort(), ['a', 'b']);
    assert.equal((await api(running, 'DELETE', sendPath(endpoint.endpointId, 'a', `/${one.body.commandId}`))).status, 204);
    assert.equal((await api<{ code: string }>(running, 'GET', sendPath(endpoint.endpointId, 'a', `/${one.body.commandId}`))).body.code, 'COMMAND_NOT_FOUND');
    assert.equal((await api<{ code: string }>(running, 'POST', sendPath(endpoint.endpointId, 'bad.type'), {})).status, 400);
    assert.equal((await api<{ code: string }>(running, 'POST', sendPath('no-such-endpoint', 'x'), {})).status, 404);
  });
});

describe('command settings', () => {
  it('takes the default TTL from TETHER_COMMAND_TTL_SECONDS and the retention from the config', async (t) => {
    const dataDir = tempDir(t);
    const running = await start(t, await testConfig(dataDir, [], { TETHER_COMMAND_TTL_SECONDS: '120', TETHER_COMMAND_RETENTION_DAYS: '2' }));
    assert.equal(running.control.commands.settings.retentionMs, 2 * 86_400_000);
    const endpoint = await createEndpoint(running);
    const sent = await api<Command & { expiresAt: string }>(running, 'POST', sendPath(endpoint.endpointId, 'x', '?awaitTimeout=0'), {});
    assert.equal(Date.parse(sent.body.expiresAt) - Date.parse(sent.body.createdAt), 120_000);
  });
});
