import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import fc from 'fast-check';
import { DEMO_VERSION, Inbox, connect, createEndpoint, request, startHarness } from '../transport/harness.js';
import { mqttFuzzer, runScript } from './mqtt-fuzzer.js';
import { waitFor } from '../helpers/wait.js';

/** Bounded here; `npm run fuzz` runs the same property for 1,000,000 packets. */
const RUNS = 60;
const CONNECTIONS_PER_RUN = 4;

describe('MQTT fuzzing (bounded)', () => {
  it('random and mutated 3.1.1 / 5.0 packets on several connections never crash the server, get only acknowledgements or a disconnect, and a well-behaved device keeps being served', async (t) => {
    const h = await startHarness();
    t.after(() => h.close());
    const endpoint = await createEndpoint(h, { model: 'A300' });
    // Fuzzed packets use the device's own token too (and another endpoint's): they reach subscriptions and extensions.
    const other = await createEndpoint(h);
    const { connectionScript } = mqttFuzzer([endpoint.token, other.token]);
    const device = await connect(h);
    const inbox = new Inbox(device);
    let requestId = 1;
    const stillServed = async () => {
      const id = requestId++;
      const reply = await request(device, inbox, `kp1/${DEMO_VERSION}/epmx/${endpoint.token}/update/keys/${id}`, JSON.stringify({ seq: id }));
      assert.equal(reply.kind, 'status', 'the well-behaved device was refused');
    };

    let packets = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(connectionScript, { minLength: CONNECTIONS_PER_RUN, maxLength: CONNECTIONS_PER_RUN }), async (scripts) => {
        const outcomes = await Promise.all(scripts.map(([version, list]) => runScript(h.port, version as 4 | 5, list)));
        for (const outcome of outcomes) assert.deepEqual(outcome.unexpected, [], 'the server answered a fuzzed packet with something a device never gets');
        packets += scripts.reduce((n, [, list]) => n + list.length, 0);
        await stillServed();
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    assert.ok(packets > RUNS * CONNECTIONS_PER_RUN);
    // Every fuzzing connection is gone: nothing of them is kept.
    await waitFor('the fuzzing connections to be gone', () => h.server.sessionCount() <= 1);
    assert.equal(h.server.sessionCount(), 1, 'only the well-behaved device is still connected');
  });
});
