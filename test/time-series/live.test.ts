/** A device's data points reach the dashboard's live stream (SSE). */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from '../helpers/test.js';
import { connectAsync } from 'mqtt';
import { createEndpoint, start, testConfig } from '../platform/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const PASSWORD = 'telemetry-test-password';

// The event is coalesced for at most 250 ms (src/time-series/live.ts); the wait below is a deadline,
// not a latency assertion (a shared machine can be slow).
test('live: a DCX batch shows up on /dashboard/api/events as time-series.appended', async (t) => {
  const running = await start(t, await testConfig(tempDir(t), [], { TETHER_ADMIN_PASSWORD: PASSWORD }));
  const base = `http://127.0.0.1:${running.httpPort}`;
  const signIn = await fetch(`${base}/dashboard/api/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  assert.equal(signIn.status, 200);
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { endpointId, token } = await createEndpoint(running);

  const received: string[] = [];
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: running.httpPort, path: '/dashboard/api/events?applicationName=demo_application', headers: { cookie } }, resolve).on('error', reject);
  });
  t.after(() => response.destroy());
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => received.push(chunk));
  const connected = Date.now() + 5000;
  while (!received.join('').includes(': connected') && Date.now() < connected) await new Promise((r) => setTimeout(r, 20));

  const device = await connectAsync({ host: '127.0.0.1', port: running.mqttPort, protocolVersion: 4, reconnectPeriod: 0 });
  t.after(() => device.end(true));
  const sent = Date.now();
  await device.publishAsync(`kp1/demo_application_v1/dcx/${token}/json/1`, JSON.stringify([{ timestamp: 1_700_000_000_000, temperature: 98 }]), { qos: 1 });

  const find = () =>
    received
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; endpointId: string; latest?: Record<string, unknown> })
      .find((event) => event.type === 'time-series.appended');
  const deadline = sent + 3000;
  while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const event = find();
  assert.ok(event, 'a time-series.appended event');
  assert.equal(event.endpointId, endpointId);
  assert.deepEqual(event.latest, { 'auto~temperature': { timestamp: new Date(1_700_000_000_000).toISOString(), values: { value: 98 } } });
});
