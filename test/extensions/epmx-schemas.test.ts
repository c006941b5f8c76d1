import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { schemaFiles } from '../../src/extensions/epmx/schemas/index.js';

/** The repository root: the nearest folder above this file with Tether's package.json. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tether') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
}

describe('10/EPMP schemas', () => {
  it('the compiled-in schemas equal the verbatim .json copies', () => {
    const dir = path.join(repoRoot(), 'src/extensions/epmx/schemas');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();
    assert.deepEqual(files, Object.keys(schemaFiles).sort());
    for (const [file, schema] of Object.entries(schemaFiles)) {
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), schema, file);
    }
  });
});
