import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { isTetherError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tmp.js';

async function configError(argv: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<string> {
  try {
    await loadConfig(argv, env, cwd !== undefined ? { cwd } : {});
  } catch (err) {
    assert.ok(isTetherError(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message;
  }
  assert.fail('loadConfig should have failed');
}

test('no TLS settings: TLS stays off (the first start is plain MQTT, as in the tutorial)', async () => {
  const config = await loadConfig([], {}, { cwd: '/srv' });
  assert.equal(config.tls, undefined);
});

test('TLS from flags: paths resolved against the working directory, default ports 8883 and 8443', async () => {
  const config = await loadConfig(['--tls-cert', 'certs/server.crt', '--tls-key', '/etc/tether/server.key'], {}, { cwd: '/srv' });
  assert.deepEqual(config.tls, { cert: '/srv/certs/server.crt', key: '/etc/tether/server.key', mqttPort: 8883, httpsPort: 8443 });
});

test('TLS from the environment, flags winning over it', async () => {
  const env = { TETHER_TLS_CERT: 'a.crt', TETHER_TLS_KEY: 'a.key', TETHER_TLS_CA: 'ca.pem', TETHER_MQTTS_PORT: '18883', TETHER_HTTPS_PORT: '18443' };
  const config = await loadConfig(['--mqtts-port', '28883'], env, { cwd: '/srv' });
  assert.deepEqual(config.tls, { cert: '/srv/a.crt', key: '/srv/a.key', ca: '/srv/ca.pem', mqttPort: 28883, httpsPort: 18443 });
});

test('TLS from the config file: relative paths are relative to the file', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(file, 'tls:\n  cert: certs/server.crt\n  key: certs/server.key\n  ca: certs/ca.crt\n  mqttPort: 9883\n  httpsPort: 9443\n');
  const config = await loadConfig(['--config', file], {}, { cwd: '/elsewhere' });
  assert.deepEqual(config.tls, {
    cert: path.join(dir, 'certs/server.crt'),
    key: path.join(dir, 'certs/server.key'),
    ca: path.join(dir, 'certs/ca.crt'),
    mqttPort: 9883,
    httpsPort: 9443,
  });
  fs.writeFileSync(file, 'tls:\n  cert: a\n  key: b\n  port: 1\n');
  assert.match(await configError(['--config', file]), /key tls\.port .*allowed: cert, key, ca, mqttPort, httpsPort/);
});

test('half a TLS configuration is refused with a line naming what was given and what is missing', async () => {
  assert.match(await configError(['--tls-cert', 'a.crt']), /^Invalid --tls-cert: TLS needs both a certificate and a key; add --tls-cert <file> and --tls-key <file>/);
  assert.match(await configError(['--mqtts-port', '8884']), /^Invalid --mqtts-port: TLS needs both/);
  assert.match(await configError(['--tls-key', 'a.key'], { TETHER_TLS_CA: 'ca.pem' }), /^Invalid --tls-key: TLS needs both/);
});

test('TLS ports must differ from each other and from the plain ports', async () => {
  const tls = ['--tls-cert', 'a.crt', '--tls-key', 'a.key'];
  assert.match(await configError([...tls, '--mqtts-port', '8080']), /--http-port and --mqtts-port cannot both use port 8080/);
  assert.match(await configError([...tls, '--https-port', '8883']), /--mqtts-port and --https-port cannot both use port 8883/);
  assert.match(await configError([...tls, '--https-port', 'x']), /^Invalid --https-port "x": use a port number/);
  const anyPorts = await loadConfig([...tls, '--mqtts-port', '0', '--https-port', '0'], {});
  assert.equal(anyPorts.tls?.mqttPort, 0);
});
