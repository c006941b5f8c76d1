/**
 * MQTT over WebSocket fuzzed: the same fuzzed packets as the TCP fuzzer, cut into WebSocket
 * messages at random boundaries, mixed with text messages, empty ones and invalid UTF-8. The
 * WebSocket layer (ws, its stream adapter) sits in front of the same packet handlers and must
 * neither crash the server nor stop a well-behaved device, which here talks over WebSocket too.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectAsync } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { describe, it } from '../helpers/test.js';
import { tempDir } from '../helpers/tmp.js';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { Inbox } from '../transport/harness.js';
import { mqttFuzzer } from './mqtt-fuzzer.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CONNECTIONS_PER_RUN = 3;

type Frame = { text: boolean; bytes: Buffer };

/** Fuzzing connections the server answered at all (a CONNACK at least): proves the packets reached it. */
let answered = 0;

/** Sends the frames on a fresh WebSocket; resolves when the server closes it or goes quiet. Never rejects. */
function runFrames(url: string, frames: Frame[]): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt');
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      clearTimeout(hardStop);
      ws.terminate();
      resolve();
    };
    const hardStop = setTimeout(finish, 2000);
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, 50);
    };
    ws.on('error', () => {});
    ws.on('close', finish);
    ws.on('message', () => {
      if (quiet !== undefined) answered++;
      rearm();
    });
    ws.on('open', () => {
      // A text message with invalid UTF-8 cannot be sent by ws's API: binary stands in for it.
      for (const frame of frames) ws.send(frame.bytes, { binary: !frame.text || !isUtf8(frame.bytes) });
      rearm();
    });
  });
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

describe('MQTT over WebSocket fuzzed (bounded)', () => {
  it(`fuzzed packets in random WebSocket messages never crash the server, and a WebSocket device keeps being served (seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 3000) }, async (t) => {
    const running = await start(t, await testConfig(tempDir(t)));
    const endpoint = await createEndpoint(running);
    const url = `ws://127.0.0.1:${running.httpPort}${running.wsPath}`;
    const device = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    t.after(() => device.endAsync(true).catch(() => {}));
    const inbox = new Inbox(device);
    let requestId = 1;
    const stillServed = async () => {
      const topic = `kp1/demo_application_v1/epmx/${endpoint.token}/update/keys/${requestId++}`;
      await device.publishAsync(topic, JSON.stringify({ seq: requestId }), { qos: 1 });
      await inbox.next(`${topic}/status`);
    };

    const { connectionScript } = mqttFuzzer([endpoint.token]);
    // A script's bytes (a CONNECT first), cut at random points into messages, some sent as text.
    const framed = fc.tuple(connectionScript, fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 8 })).map(([[version, packets], cuts, texts]) => {
      const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version as 4 | 5, clean: true, clientId: '', keepalive: 30 }, { protocolVersion: version as 4 | 5 });
      const all = Buffer.concat([connect, ...packets]);
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      const frames: Frame[] = [];
      let from = 0;
      for (const [i, at] of [...points, all.length].entries()) {
        frames.push({ text: texts[i] ?? false, bytes: all.subarray(from, at) });
        from = at;
      }
      return frames;
    });

    await fc.assert(
      fc.asyncProperty(fc.array(framed, { minLength: CONNECTIONS_PER_RUN, maxLength: CONNECTIONS_PER_RUN }), async (connections) => {
        await Promise.all(connections.map((frames) => runFrames(url, frames)));
        await stillServed();
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    assert.ok(requestId > RUNS, 'the device was served after every round');
    assert.ok(answered > RUNS, `the server answered the fuzzing connections (${answered} messages)`);
  });
});
