/** Progress of long CLI operations (issue 18): a bar redrawn on a terminal, plain periodic lines elsewhere. */
import assert from 'node:assert/strict';
import { startProgress } from '../../src/cli/progress.js';
import { test } from '../helpers/test.js';
import { waitFor } from '../helpers/wait.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) > 0 } as unknown as NodeJS.WriteStream };
}

test('a long import shows progress: periodic lines when piped', async () => {
  const { writes, stream } = fakeStream(false);
  const progress = startProgress('Importing 20000 endpoint rows from fleet.csv', { stream, everyMs: 10 });
  await waitFor('two progress lines', async () => writes.length, { until: (n) => n >= 2 });
  progress.finish('Import of 20000 rows answered');
  assert.ok(writes.every((line) => line.endsWith('\n') && !line.includes('\r')), JSON.stringify(writes));
  assert.match(writes[0]!, /^Importing 20000 endpoint rows from fleet\.csv… \d+ s\n$/);
  assert.match(writes.at(-1)!, /^Import of 20000 rows answered \(\d+ s\)\n$/);
});

test('a long operation shows a bar redrawn in place on a terminal', async () => {
  const { writes, stream } = fakeStream(true);
  const progress = startProgress('Uploading', { stream, everyMs: 10, total: 100 });
  progress.update(50);
  await waitFor('a bar', async () => writes.join(''), { until: (text) => text.includes('%') });
  progress.finish();
  assert.match(writes.join(''), /\rUploading \[#{12}-{12}\] 50% \d+ s/);
  assert.equal(writes.at(-1), '\r\u001b[K', 'the line is cleared at the end');
});
