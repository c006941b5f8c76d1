/**
 * Device payloads fuzzed end to end. The MQTT fuzzer (mqtt.test.ts) rarely gets past the token
 * look-up, since its tokens do not exist. Here a real device with a real token sends random and
 * mutated payloads to every resource of every extension: 10/EPMP, 2/DCP, 7/CMP (configurations
 * and software updates) and 11/CEP. It also hits real pending commands and a real configuration.
 * Each request must get its `/status`, or an `/error` that is a 4xx with a reason (a 5xx would be
 * Tether's own failure). Afterwards the same device must still be served.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from '../helpers/test.js';
import { VERSION, api, connectDevice } from '../control/harness.js';
import { start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { within } from '../helpers/wait.js';
import { CMX_OTA } from '../../src/core/software.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const resources: Array<[extension: string, resource: string]> = [
  ['epmx', 'update/keys'],
  ['epmx', 'update'],
  ['epmx', 'get/keys'],
  ['epmx', 'get'],
  ['epmx', 'delete/keys'],
  ['dcx', 'json'],
  ['cmx', 'config/json'],
  ['cmx', 'applied/json'],
  ['cmx', 'config/json/other'],
  ['cex', 'command/reboot'],
  ['cex', 'result/reboot'],
  ['cex', 'result/unknown_type'],
  [CMX_OTA, 'config/json'],
  [CMX_OTA, 'applied/json'],
];

/** Shapes the specs use, with values a careless or hostile client might put in them. */
function shapedPayloads(commandIds: number[]): fc.Arbitrary<unknown> {
  const id = fc.oneof(fc.constantFrom(...commandIds), fc.integer(), fc.double(), fc.string({ maxLength: 8 }), fc.constant(null));
  const statusCode = fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.constantFrom(200, 400, 500), fc.string({ maxLength: 4 }), fc.constant(null));
  const anything = fc.jsonValue({ maxDepth: 3 });
  return fc.oneof(
    fc.record({ id, statusCode, reasonPhrase: fc.option(fc.string({ maxLength: 20 })), payload: fc.option(anything) }, { requiredKeys: [] }),
    fc.array(fc.record({ id, statusCode, reasonPhrase: fc.option(anything), payload: fc.option(anything) }, { requiredKeys: [] }), { maxLength: 4 }),
    fc.record({ configId: fc.option(fc.oneof(fc.string({ maxLength: 70 }), anything)), observe: fc.option(anything), statusCode, reasonPhrase: fc.option(anything), config: fc.option(anything) }, { requiredKeys: [] }),
    fc.record({ keys: fc.option(fc.array(fc.oneof(fc.string({ maxLength: 10 }), anything), { maxLength: 5 })) }, { requiredKeys: [] }),
    fc.array(fc.dictionary(fc.constantFrom('timestamp', 'temperature', 'ts', 'a', 'b__c', ''), anything, { maxKeys: 4 }), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), anything, { maxKeys: 6 }),
    anything,
  );
}

const payloadBytes = (commandIds: number[]): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 6, arbitrary: shapedPayloads(commandIds).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[', '{"a":', 'null', '1e999', '"\\ud800"', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]').map((s) => Buffer.from(s)) },
  );

describe('device payloads fuzzed over MQTT (bounded)', () => {
  it(`random and shaped payloads on every extension's resources get a /status or a 4xx /error, and the device stays served (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 100) }, async (t) => {
    // A device past 100 refusals in a minute is disconnected (limits.maxRefusals, tested elsewhere); here every refusal is the point.
    const running = await start(t, await testConfig(tempDir(t), [], { TETHER_LIMITS_MAX_REFUSALS: '1000000' }));
    const device = await connectDevice(t, running);
    assert.ok((await api(running, 'PUT', `/ecr/api/v1/endpoints/${device.endpointId}/app-versions/${VERSION}`, { brightness: 50 })).status < 300);
    const commandIds: number[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await api<{ id: number }>(running, 'POST', `/cex/api/v1/endpoints/${device.endpointId}/commands/reboot?awaitTimeout=0`, { n: i });
      assert.ok(sent.status < 300, `command ${i} created (${sent.status})`);
      commandIds.push(sent.body.id);
    }
    let requestId = 100;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...resources), payloadBytes(commandIds), async ([extension, resource], payload) => {
        const id = requestId++;
        const topic = device.topic(extension, resource, id);
        await within(`PUBACK of ${topic}`, device.client.publishAsync(topic, payload, { qos: 1 }));
        const reply = await device.inbox.nextOf([`${topic}/status`, `${topic}/error`]);
        if (reply.topic.endsWith('/status')) return;
        let error: { statusCode?: unknown; reasonPhrase?: unknown } | undefined;
        try {
          error = JSON.parse(reply.payload.toString('utf8')) as typeof error;
        } catch {
          error = undefined;
        }
        const ok = typeof error?.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 && typeof error.reasonPhrase === 'string' && error.reasonPhrase.length > 0;
        assert.ok(ok, `${extension}/${resource} ${JSON.stringify(payload.toString('utf8').slice(0, 160))} → ${reply.payload.toString('utf8').slice(0, 300)}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const after = await device.request('epmx', 'update/keys', { still: 'served' }, requestId++);
    assert.equal(after.kind, 'status');
  });
});
