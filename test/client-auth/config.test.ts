import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/test.js';
import { loadConfig } from '../../src/config/index.js';

test('config: client authentication is anonymous by default; mode from flag, env or file; per-application modes from the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-'));
  try {
    assert.equal((await loadConfig([], {}, { cwd: dir })).clientAuth, undefined, 'absent: anonymous');
    assert.equal((await loadConfig(['--client-auth', 'basic'], {}, { cwd: dir })).clientAuth?.mode, 'basic');
    assert.equal((await loadConfig([], { TETHER_CLIENT_AUTH: 'x509' }, { cwd: dir })).clientAuth?.mode, 'x509');
    const file = path.join(dir, 'tether.yaml');
    fs.writeFileSync(file, 'clientAuth:\n  mode: anonymous\n  applications:\n    meters: basic\n');
    assert.deepEqual((await loadConfig(['--config', file], {}, { cwd: dir })).clientAuth, { mode: 'anonymous', applications: { meters: 'basic' } });
    fs.writeFileSync(file, 'clientAuth:\n  applications:\n    meters: password\n');
    await assert.rejects(loadConfig(['--config', file], {}, { cwd: dir }), /clientAuth.applications.meters must be one of anonymous, basic, x509/);
    await assert.rejects(loadConfig(['--client-auth', 'token'], {}, { cwd: dir }), /--client-auth "token".*anonymous, basic, x509/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
