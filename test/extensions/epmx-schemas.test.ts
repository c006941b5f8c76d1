import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from '../helpers/test.js';
import { packageRoot } from '../../src/platform/package-root.js';
import { schemaFiles } from '../../src/extensions/epmx/schemas/index.js';

describe('10/EPMP schemas', () => {
  it('the compiled-in schemas equal the verbatim .json copies', () => {
    const dir = path.join(packageRoot(), 'src/extensions/epmx/schemas');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();
    assert.deepEqual(files, Object.keys(schemaFiles).sort());
    for (const [file, schema] of Object.entries(schemaFiles)) {
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), schema, file);
    }
  });
});
