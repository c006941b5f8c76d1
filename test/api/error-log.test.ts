import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { createRecordingLogger } from '../transport/harness.js';
import { startApi } from './harness.js';

test('a flood of unauthenticated, wrongly keyed and unrouted requests costs a few log lines per error code, not one per request', async (t) => {
  const logger = createRecordingLogger();
  const api = await startApi({ api: { logger } });
  t.after(() => api.close());
  const before = logger.records.length;
  const floods: Array<[string, Record<string, string>, number]> = [
    ['/epr/api/v1/endpoints', { authorization: '' }, 401],
    ['/epr/api/v1/endpoints', { authorization: 'Bearer not-a-key' }, 401],
    ['/api/v1/no-such-route', {}, 404],
  ];
  for (const [path, headers, status] of floods) {
    for (let i = 0; i < 100; i++) {
      const reply = await api.call('GET', path, undefined, headers);
      assert.equal(reply.status, status);
      assert.equal(reply.json.status, status, 'every request is still answered in full');
    }
  }
  const lines = logger.records.slice(before);
  const codes = new Set(lines.map((line) => line.fields['code']));
  assert.ok(codes.size >= 2, `lines for each kind of refusal: ${[...codes].join(', ')}`);
  assert.ok(lines.length <= 5 * codes.size, `${lines.length} log lines for 300 bad requests`);
});
