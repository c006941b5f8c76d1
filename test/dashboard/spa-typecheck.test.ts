/** The SPA has its own tsconfig (DOM, JSX) outside the root build, and Vite does not typecheck: do it here. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { packageRoot } from './helpers.js';

// Longer than the 30 s default: a full tsc run over the SPA on a shared two-core machine.
test('the dashboard SPA typechecks under strict TypeScript', { timeout: 120_000 }, () => {
  const root = packageRoot();
  const result = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'src/dashboard/web/tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `tsc reported:\n${result.stdout}${result.stderr}`);
});
