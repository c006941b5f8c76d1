/**
 * The front door's pushback, measured on the socket: a connection Tether is holding (here: over its
 * publish rate, on a clock that does not move) is not read, so what it sends waits in TCP buffers
 * and in the sender, not in Tether's memory. Fairness rests on this (docs/security.md); a server
 * that read on while holding would still answer every test that only looks at replies.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from '../helpers/test.js';
import mqttPacket from 'mqtt-packet';
import { createEndpoint, kpTopic, startSecure } from '../security/harness.js';
import type { SecureHarness } from '../security/harness.js';
import { waitFor, within } from '../helpers/wait.js';

/** Bytes a paused socket may still take in: its stream buffer and one read in flight when it paused. */
const READ_AHEAD = 256 * 1024;
const FLOOD_BYTES = 16 * 1024 * 1024;

describe('backpressure on a held connection', () => {
  let h: SecureHarness;
  let front: net.Server;
  const accepted: net.Socket[] = [];

  before(async () => {
    // A burst of 5 and practically no refill: the test clock moves only when the test says so.
    h = await startSecure({ limits: { publishRate: 0.001, publishBurst: 5 } });
    // The server-side socket goes to the MQTT core through handle(), so the test can look at it.
    front = net.createServer((socket) => {
      accepted.push(socket);
      h.server.handle(socket);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await h.close();
  });

  it('does not read a connection held over its publish rate', async () => {
    const ep = await createEndpoint(h);
    const client = net.connect((front.address() as net.AddressInfo).port, '127.0.0.1');
    client.on('error', () => {});
    const received: Buffer[] = [];
    client.on('data', (chunk: Buffer) => received.push(chunk));
    await within('the test socket to connect', new Promise<void>((resolve) => client.once('connect', () => resolve())));
    client.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'held-flooder', keepalive: 0 }));
    await waitFor('CONNACK', () => received.length > 0);
    const server = accepted.at(-1)!;

    const publish = mqttPacket.generate({ cmd: 'publish', topic: kpTopic(ep.token, 'update/keys'), payload: '{"x":1}', qos: 0, retain: false, dup: false });
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(FLOOD_BYTES / 8 / publish.length) }, () => publish));
    // More than the burst: the 6th publish puts the connection on hold.
    client.write(Buffer.concat(Array.from({ length: 20 }, () => publish)));
    await waitFor('the server side of the connection to be paused', () => server.isPaused());
    const readAtHold = server.bytesRead;

    for (let i = 0; i < 8; i++) client.write(chunk);
    // Give a server that reads on the time to read megabytes; a held one reads nothing more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(server.isPaused(), 'the held connection stays paused');
    const readWhileHeld = server.bytesRead - readAtHold;
    assert.ok(readWhileHeld < READ_AHEAD, `read ${readWhileHeld} bytes of ${FLOOD_BYTES} while held; want under ${READ_AHEAD}`);
    assert.ok(client.writableLength > 0, 'the flood waits in the sender');
    client.destroy();
  });
});
