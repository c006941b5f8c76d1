import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { isTetherError } from '../../src/core/errors.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { tempDir } from '../helpers/tmp.js';

/** Resolves with the rejection's message after checking it is a one-line CONFIG_INVALID error. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isTetherError(err), `expected a TetherError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.ok(!err.message.includes('\n'), `message must be one line: ${err.message}`);
    return err.message;
  }
  assert.fail('expected loadConfig to reject');
}

test('defaults apply when nothing is set', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const config = await loadConfig([], {}, { cwd });
  assert.deepEqual(config, {
    host: '0.0.0.0',
    mqttPort: 1883,
    httpPort: 8080,
    dataDir: path.join(cwd, 'data'),
    logLevel: 'info',
    storage: { kind: 'sqlite', synchronous: 'full' },
    bus: { kind: 'memory' },
    nodeId: `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48)}-1883`,
    limits: { ...DEFAULT_LIMITS },
    applications: [{ name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx', 'dcx', 'cmx', 'cex', 'cmx_ota'] }] }],
  });
});

test('flags win over environment, environment over file, file over defaults', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(file, 'mqttPort: 1001\nhttpPort: 1002\nhost: 127.0.0.1\nlogLevel: debug\n');
  const env = { TETHER_CONFIG: file, TETHER_MQTT_PORT: '2001', TETHER_HTTP_PORT: '2002' };

  const all = await loadConfig(['--mqtt-port', '3001'], env, { cwd: dir });
  assert.equal(all.mqttPort, 3001, 'flag beats env and file');
  assert.equal(all.httpPort, 2002, 'env beats file');
  assert.equal(all.host, '127.0.0.1', 'file beats default');
  assert.equal(all.logLevel, 'debug');
  assert.equal(all.configFile, file);

  const noEnv = await loadConfig([], { TETHER_CONFIG: file }, { cwd: dir });
  assert.equal(noEnv.mqttPort, 1001);
  assert.equal(noEnv.httpPort, 1002);

  const inline = await loadConfig([`--config=${file}`, '--http-port=0'], { TETHER_HTTP_PORT: '2002' }, { cwd: dir });
  assert.equal(inline.httpPort, 0, '--flag=value form and port 0 are accepted');
});

test('an empty environment variable counts as unset', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const config = await loadConfig([], { TETHER_MQTT_PORT: '', TETHER_HOST: '' }, { cwd });
  assert.equal(config.mqttPort, 1883);
  assert.equal(config.host, '0.0.0.0');
});

test('JSON, .yml and empty config files are read; secrets come from env or file', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const json = path.join(dir, 'tether.json');
  fs.writeFileSync(json, JSON.stringify({ httpPort: 9090, storage: { synchronous: 'normal' }, adminApiKey: 'k'.repeat(20) }));
  const fromJson = await loadConfig(['--config', json], {}, { cwd: dir });
  assert.equal(fromJson.httpPort, 9090);
  assert.deepEqual(fromJson.storage, { kind: 'sqlite', synchronous: 'normal' });
  assert.equal(fromJson.adminApiKey, 'k'.repeat(20));

  const withEnvKey = await loadConfig(['--config', json], { TETHER_ADMIN_API_KEY: 'e'.repeat(16), TETHER_ADMIN_PASSWORD: 'correct horse'.replace(' ', '-') }, { cwd: dir });
  assert.equal(withEnvKey.adminApiKey, 'e'.repeat(16));
  assert.equal(withEnvKey.adminPassword, 'correct-horse');

  const yml = path.join(dir, 'tether.yml');
  fs.writeFileSync(yml, '# just a comment\nbus:\n  kind: memory\n');
  assert.deepEqual((await loadConfig(['--config', yml], {}, { cwd: dir })).bus, { kind: 'memory' });

  const empty = path.join(dir, 'empty.yaml');
  fs.writeFileSync(empty, '');
  assert.equal((await loadConfig(['--config', empty], {}, { cwd: dir })).mqttPort, 1883);
});

test('a relative dataDir in the file is relative to the file; flags and env are relative to cwd', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  fs.mkdirSync(path.join(dir, 'etc'));
  const file = path.join(dir, 'etc', 'tether.yaml');
  fs.writeFileSync(file, 'dataDir: ../var/tether\n');
  const cwd = path.join(dir, 'elsewhere');
  assert.equal((await loadConfig(['--config', file], {}, { cwd })).dataDir, path.join(dir, 'var', 'tether'));
  assert.equal((await loadConfig(['--config', file, '--data-dir', 'd'], {}, { cwd })).dataDir, path.join(cwd, 'd'));
  assert.equal((await loadConfig(['--config', file], { TETHER_DATA_DIR: '/abs/data' }, { cwd })).dataDir, '/abs/data');
});

test('declared applications are merged with the default demo application', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const file = path.join(dir, 'tether.yaml');
  fs.writeFileSync(
    file,
    [
      'applications:',
      '  - name: smart_meters',
      '    description: Meters',
      '    versions:',
      '      - name: smart_meters_v1',
      '        extensions: [epmx]',
      '        metadataKeyAccess: { serial: read-only, secret: hidden }',
    ].join('\n'),
  );
  const config = await loadConfig(['--config', file], {}, { cwd: dir });
  assert.deepEqual(config.applications, [
    { name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx', 'dcx', 'cmx', 'cex', 'cmx_ota'] }] },
    {
      name: 'smart_meters',
      description: 'Meters',
      versions: [{ name: 'smart_meters_v1', extensions: ['epmx'], metadataKeyAccess: { serial: 'read-only', secret: 'hidden' } }],
    },
  ]);
});

test('an application declared with the default name replaces the default entry', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const file = path.join(dir, 'tether.json');
  const demo = { name: 'demo_application', versions: [{ name: 'demo_application_v2', extensions: ['epmx'] }] };
  fs.writeFileSync(file, JSON.stringify({ applications: [demo] }));
  assert.deepEqual((await loadConfig(['--config', file], {}, { cwd: dir })).applications, [demo]);
});

test('invalid flag values name the flag and what is allowed', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const port = await failure(loadConfig(['--mqtt-port', 'abc'], {}, { cwd }));
  assert.match(port, /--mqtt-port "abc"/);
  assert.match(port, /0 to 65535/);

  assert.match(await failure(loadConfig(['--http-port', '65536'], {}, { cwd })), /--http-port "65536".*0 to 65535/);
  assert.match(await failure(loadConfig(['--host', 'http://example.com'], {}, { cwd })), /--host .*host name or IP address/);
  assert.match(await failure(loadConfig(['--log-level', 'loud'], {}, { cwd })), /--log-level "loud".*fatal, error, warn, info, debug, trace, silent/);
  assert.match(await failure(loadConfig(['--storage', 'postgres'], {}, { cwd })), /storage postgres: it needs --database-url/);
  assert.match(await failure(loadConfig(['--bus', 'nats'], {}, { cwd })), /bus nats: it needs --nats-url/);
  assert.match(await failure(loadConfig(['--storage', 'mongodb'], {}, { cwd })), /--storage "mongodb".*sqlite, postgres/);
  // URLs may hold passwords: a wrong one is named by its flag, never echoed.
  const badUrl = await failure(loadConfig(['--database-url', 'mysql://u:hunter2@db/x'], {}, { cwd }));
  assert.match(badUrl, /--database-url: use a PostgreSQL URL/);
  assert.doesNotMatch(badUrl, /hunter2/);
  assert.match(await failure(loadConfig(['--nats-url', 'http://nats:4222'], {}, { cwd })), /--nats-url: use a NATS URL/);
  assert.match(await failure(loadConfig([], { TETHER_NODE_ID: 'bad id!' }, { cwd })), /TETHER_NODE_ID "bad id!"/);
  assert.match(await failure(loadConfig(['--sqlite-synchronous', 'sometimes'], {}, { cwd })), /--sqlite-synchronous.*full, normal/);
});

test('unknown options, missing values and stray arguments are one-line errors', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const unknown = await failure(loadConfig(['--mqtt-prot', '1883'], {}, { cwd }));
  assert.match(unknown, /--mqtt-prot/);
  assert.match(unknown, /--mqtt-port/, 'lists the allowed options');
  assert.match(await failure(loadConfig(['--mqtt-port'], {}, { cwd })), /--mqtt-port.*needs a value/);
  assert.match(await failure(loadConfig(['--mqtt-port', '--host', 'x'], {}, { cwd })), /--mqtt-port.*needs a value/);
  assert.match(await failure(loadConfig(['now'], {}, { cwd })), /"now".*no arguments/);
});

test('invalid environment values name the variable', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  assert.match(await failure(loadConfig([], { TETHER_MQTT_PORT: '-5' }, { cwd })), /TETHER_MQTT_PORT "-5".*0 to 65535/);
  assert.match(await failure(loadConfig([], { TETHER_LOG_LEVEL: 'verbose' }, { cwd })), /TETHER_LOG_LEVEL "verbose"/);
});

test('secrets are validated without echoing them', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const message = await failure(loadConfig([], { TETHER_ADMIN_API_KEY: 'short-key' }, { cwd }));
  assert.match(message, /TETHER_ADMIN_API_KEY/);
  assert.match(message, /at least 16 characters/);
  assert.ok(!message.includes('short-key'), message);
  assert.match(await failure(loadConfig([], { TETHER_ADMIN_PASSWORD: 'pw' }, { cwd })), /TETHER_ADMIN_PASSWORD.*at least 8/);
});

test('invalid file values name the file key and the file', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const file = path.join(dir, 'tether.yaml');
  const write = (text: string) => fs.writeFileSync(file, text);

  write('httpPort: 70000\n');
  const port = await failure(loadConfig(['--config', file], {}, { cwd: dir }));
  assert.match(port, /httpPort 70000 in .*tether\.yaml/);
  assert.match(port, /0 to 65535/);

  write('mqtt_port: 1883\n');
  assert.match(await failure(loadConfig(['--config', file], {}, { cwd: dir })), /key mqtt_port in .*allowed: host, mqttPort/);

  write('storage:\n  kind: sqlite\n  journal: wal\n');
  assert.match(await failure(loadConfig(['--config', file], {}, { cwd: dir })), /storage\.journal.*allowed: kind, synchronous, url/);

  write('storage: sqlite\n');
  assert.match(await failure(loadConfig(['--config', file], {}, { cwd: dir })), /storage in .*mapping/);

  write('storage:\n  synchronous: maybe\n');
  assert.match(await failure(loadConfig(['--config', file], {}, { cwd: dir })), /storage\.synchronous "maybe" in .*full, normal/);

  write('- 1\n- 2\n');
  assert.match(await failure(loadConfig(['--config', file], {}, { cwd: dir })), /top level must be a mapping/);
});

test('an invalid applications declaration names the offending entry', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const file = path.join(dir, 'tether.yaml');
  const load = (text: string) => {
    fs.writeFileSync(file, text);
    return failure(loadConfig(['--config', file], {}, { cwd: dir }));
  };
  assert.match(await load('applications:\n  - name: Bad Name\n    versions: []\n'), /applications\[0\]\.name.*\^\[a-z0-9_-\]\+\$/);
  assert.match(await load('applications:\n  - name: a\n    versions:\n      - name: a_v1\n        extensions: epmx\n'), /applications\[0\]\.versions\[0\]\.extensions must be a list/);
  assert.match(await load('applications:\n  - name: a\n    versions:\n      - name: a_v1\n        metadataKeyAccess: { serial: write-only }\n'), /metadataKeyAccess\.serial must be one of read-write, read-only, hidden/);
  assert.match(await load('applications:\n  - name: a\n    versions:\n      - name: demo_application_v1\n'), /"demo_application_v1" is declared in both "demo_application" and "a"/);
  assert.match(await load('applications:\n  - name: a\n    version: []\n'), /applications\[0\] has unknown key "version"/);
  assert.match(await load('applications: {}\n'), /applications must be a list/);
});

test('unreadable or malformed config files are one-line errors naming the file', async (t) => {
  const dir = tempDir(t, 'tether-config-');
  const missing = path.join(dir, 'missing.yaml');
  assert.match(await failure(loadConfig(['--config', missing], {}, { cwd: dir })), /--config ".*missing\.yaml".*does not exist/);
  assert.match(await failure(loadConfig([], { TETHER_CONFIG: missing }, { cwd: dir })), /TETHER_CONFIG ".*missing\.yaml"/);

  const yaml = path.join(dir, 'bad.yaml');
  fs.writeFileSync(yaml, 'mqttPort: 1883\n  httpPort: [\n');
  assert.match(await failure(loadConfig(['--config', yaml], {}, { cwd: dir })), /bad\.yaml: it is not valid YAML .*line \d+/);

  const json = path.join(dir, 'bad.json');
  fs.writeFileSync(json, '{"mqttPort": 1883,}');
  assert.match(await failure(loadConfig(['--config', json], {}, { cwd: dir })), /bad\.json: it is not valid JSON/);
});

test('MQTT and HTTP cannot share a fixed port', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  assert.match(await failure(loadConfig(['--mqtt-port', '9000', '--http-port', '9000'], {}, { cwd })), /both use port 9000/);
  const zeros = await loadConfig(['--mqtt-port', '0', '--http-port', '0'], {}, { cwd });
  assert.equal(zeros.mqttPort, 0);
});

test('a database URL selects PostgreSQL, a NATS URL selects NATS, and the node ID is taken as given', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const config = await loadConfig(['--database-url', 'postgres://tether:secret@db:5432/tether'], { TETHER_NATS_URL: 'nats://a:4222,nats://b:4222', TETHER_NODE_ID: 'tether-2' }, { cwd });
  assert.deepEqual(config.storage, { kind: 'postgres', synchronous: 'full', url: 'postgres://tether:secret@db:5432/tether' });
  assert.deepEqual(config.bus, { kind: 'nats', url: 'nats://a:4222,nats://b:4222' });
  assert.equal(config.nodeId, 'tether-2');
  // Two nodes on one host differ by their MQTT port when no ID is given.
  assert.notEqual((await loadConfig(['--mqtt-port', '1884'], {}, { cwd })).nodeId, (await loadConfig(['--mqtt-port', '1885'], {}, { cwd })).nodeId);
});

test('a misspelled application or key under kaa: stops the start with a did-you-mean', async (t) => {
  const cwd = tempDir(t, 'tether-config-');
  const file = path.join(cwd, 'tether.yaml');
  const load = (yaml: string) => {
    fs.writeFileSync(file, yaml);
    return failure(loadConfig(['--config', file], {}, { cwd }));
  };
  assert.match(
    await load('kaa:\n  applications:\n    demo_aplication:\n      time-series:\n      - name: T\n        value-field: t\n'),
    /kaa\.applications names application "demo_aplication", which does not exist; did you mean "demo_application"\?/,
  );
  assert.match(
    await load('kaa:\n  applications:\n    demo_application:\n      versions:\n        demo_application_v1:\n          extraction:\n            extract_all: true\n'),
    /kaa\.applications\.demo_application\.versions\.demo_application_v1\.extraction has unknown key "extract_all"; did you mean "extract-all"\?/,
  );
  assert.match(
    await load('kaa:\n  applications:\n    demo_application:\n      versions:\n        demo_application_v2:\n          extraction:\n            extract-all: true\n'),
    /names version "demo_application_v2", which application "demo_application" does not have; did you mean "demo_application_v1"\?/,
  );
  assert.match(await load('kaa:\n  application:\n    demo_application: {}\n'), /kaa has unknown key "application"; did you mean "applications"\?/);
  assert.match(await load('mqttPrt: 1883\n'), /there is no such setting; did you mean "mqttPort"\?/);
});
