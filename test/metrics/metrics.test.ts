import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createMetrics } from '../../src/metrics/index.js';

/** The value of one series in the Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('request counts are exact across scrapes, and device-chosen extension names stay bounded', async () => {
  const metrics = createMetrics('node-1', { processMetrics: false });
  for (let i = 0; i < 5; i++) metrics.request('epmx', 'ok');
  metrics.request('epmx', 'TOKEN_UNKNOWN');
  let text = (await metrics.render()).body;
  assert.equal(sample(text, 'tether_kp_requests_total', { extension: 'epmx', outcome: 'ok', node: 'node-1' }), 5);
  assert.equal(sample(text, 'tether_kp_requests_total', { extension: 'epmx', outcome: 'TOKEN_UNKNOWN' }), 1);

  metrics.request('epmx', 'ok');
  text = (await metrics.render()).body;
  assert.equal(sample(text, 'tether_kp_requests_total', { extension: 'epmx', outcome: 'ok' }), 6, 'counts add up over scrapes');

  // A device inventing extension names (each refused) must not add a series per name.
  for (let i = 0; i < 5_000; i++) metrics.request(`made-up-${i}`, 'EXTENSION_NOT_ENABLED');
  text = (await metrics.render()).body;
  const series = text.split('\n').filter((l) => l.startsWith('tether_kp_requests_total{')).length;
  assert.ok(series <= 1001, `${series} series`);
  const other = sample(text, 'tether_kp_requests_total', { extension: '(other)', outcome: 'refused' }) ?? 0;
  const named = text.split('\n').filter((l) => l.startsWith('tether_kp_requests_total{') && l.includes('made-up-')).length;
  assert.equal(named + other, 5_000, 'every request is counted, under its name or under (other)');
});
