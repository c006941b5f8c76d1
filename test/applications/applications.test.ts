import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from '../helpers/test.js';
import { createApplications } from '../../src/applications/index.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { DEMO_APP, DEMO_VERSION, type TestServices, createTestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

describe('applications', () => {
  let t: TestServices;
  beforeEach(async () => {
    t = await createTestServices();
  });
  afterEach(() => t.close());

  const reload = () => createApplications({ storage: t.storage, bus: t.bus, clock: systemClock, logger: silentLogger });

  test('declared application and version exist after start', async () => {
    const app = await t.applications.getApplication(DEMO_APP);
    assert.equal(app.name, DEMO_APP);
    const version = await t.applications.getVersion(DEMO_VERSION);
    assert.deepEqual([version.applicationName, version.extensions, version.metadataKeyAccess], [DEMO_APP, ['epmx'], {}]);
    assert.deepEqual((await t.applications.listVersions(DEMO_APP)).map((v) => v.name), [DEMO_VERSION]);
  });

  test('creates applications and versions, validating names', async () => {
    const app = await t.applications.createApplication({ name: 'smart-meter_2', description: 'Meters' });
    assert.deepEqual([app.name, app.description], ['smart-meter_2', 'Meters']);
    for (const name of ['Upper', 'has space', '', 'dot.ted', 'slash/']) {
      await assert.rejects(t.applications.createApplication({ name }), { code: 'NAME_INVALID' }, name);
      await assert.rejects(t.applications.createVersion({ applicationName: app.name, name }), { code: 'NAME_INVALID' }, name);
    }
    await assert.rejects(t.applications.createApplication({ name: 'smart-meter_2' }), { code: 'APPLICATION_CONFLICT' });

    const version = await t.applications.createVersion({
      applicationName: app.name,
      name: 'smart-meter_2_v1',
      extensions: ['epmx'],
      metadataKeyAccess: { serial: 'read-only' },
    });
    assert.deepEqual(await t.applications.getVersion('smart-meter_2_v1'), version);
    await assert.rejects(t.applications.createVersion({ applicationName: app.name, name: 'smart-meter_2_v1' }), { code: 'APP_VERSION_CONFLICT' });
    await assert.rejects(t.applications.createVersion({ applicationName: 'ghost', name: 'ghost_v1' }), { code: 'APPLICATION_NOT_FOUND' });
    await assert.rejects(
      t.applications.createVersion({ applicationName: app.name, name: 'v2', metadataKeyAccess: { 'bad-key': 'hidden' } }),
      { code: 'METADATA_KEY_INVALID' },
    );
    await assert.rejects(
      t.applications.createVersion({ applicationName: app.name, name: 'v3', extensions: ['Bad Ext'] }),
      { code: 'NAME_INVALID' },
    );
    await assert.rejects(t.applications.getApplication('ghost'), { code: 'APPLICATION_NOT_FOUND' });
    await assert.rejects(t.applications.getVersion('ghost_v1'), { code: 'APP_VERSION_NOT_FOUND' });
    assert.deepEqual((await t.applications.listApplications()).map((a) => a.name).sort(), [DEMO_APP, 'smart-meter_2']);

    // Persisted: a fresh instance loads the same versions.
    assert.deepEqual(await (await reload()).getVersion('smart-meter_2_v1'), version);
  });

  test('updateVersion changes extensions and key access, durably', async () => {
    const updated = await t.applications.updateVersion(DEMO_VERSION, { metadataKeyAccess: { serial: 'hidden' } });
    assert.deepEqual([updated.extensions, updated.metadataKeyAccess], [['epmx'], { serial: 'hidden' }]);
    assert.deepEqual((await t.applications.getVersion(DEMO_VERSION)).metadataKeyAccess, { serial: 'hidden' });
    assert.deepEqual((await (await reload()).getVersion(DEMO_VERSION)).metadataKeyAccess, { serial: 'hidden' });
    await assert.rejects(t.applications.updateVersion('ghost_v1', { extensions: [] }), { code: 'APP_VERSION_NOT_FOUND' });
  });

  test('cached versions cannot be changed by callers', async () => {
    const version = await t.applications.getVersion(DEMO_VERSION);
    assert.throws(() => (version.extensions as string[]).push('evil'));
    assert.deepEqual((await t.applications.getVersion(DEMO_VERSION)).extensions, ['epmx']);
  });

  test('ensureDeclared creates missing versions, updates declared ones and is idempotent', async () => {
    const declared = [
      {
        name: DEMO_APP,
        versions: [
          { name: DEMO_VERSION, extensions: ['epmx', 'dcx'], metadataKeyAccess: { serial: 'read-only' as const } },
          { name: 'demo_application_v2' },
        ],
      },
      { name: 'second', description: 'Second app', versions: [{ name: 'second_v1', extensions: ['epmx'] }] },
    ];
    await t.applications.ensureDeclared(declared);
    await t.applications.ensureDeclared(declared);
    const v1 = await t.applications.getVersion(DEMO_VERSION);
    assert.deepEqual([v1.extensions, v1.metadataKeyAccess], [['epmx', 'dcx'], { serial: 'read-only' }]);
    assert.deepEqual((await t.applications.getVersion('demo_application_v2')).extensions, []);
    assert.equal((await t.applications.getApplication('second')).description, 'Second app');
    assert.equal((await t.applications.listVersions()).length, 3);
    await assert.rejects(t.applications.ensureDeclared([{ name: 'third', versions: [{ name: 'second_v1' }] }]), { code: 'APP_VERSION_CONFLICT' });
    await assert.rejects(t.applications.ensureDeclared([{ name: 'Bad', versions: [] }]), { code: 'NAME_INVALID' });
  });

  test('deleteApplication removes versions and endpoints and announces the endpoints', async () => {
    await t.applications.ensureDeclared([{ name: 'gone', versions: [{ name: 'gone_v1', extensions: ['epmx'] }] }]);
    const a = await t.registry.createEndpoint({ appVersionName: 'gone_v1', endpointToken: 'gone-token' });
    await t.credentials.resolveToken('gone', 'gone-token');
    const keep = await t.registry.createEndpoint({ appVersionName: DEMO_VERSION });
    await t.applications.deleteApplication('gone');
    await assert.rejects(t.applications.getApplication('gone'), { code: 'APPLICATION_NOT_FOUND' });
    await assert.rejects(t.applications.getVersion('gone_v1'), { code: 'APP_VERSION_NOT_FOUND' });
    await assert.rejects(t.registry.getEndpoint(a.endpoint.endpointId, false), { code: 'ENDPOINT_NOT_FOUND' });
    await t.registry.getEndpoint(keep.endpoint.endpointId, false);
    await waitFor('endpoint.deleted', () => t.events.some((e) => e.type === 'endpoint.deleted' && e.endpointId === a.endpoint.endpointId));
    await waitFor(
      'the token of the deleted application to be unknown',
      () => t.credentials.resolveToken('gone', 'gone-token').then(() => false, (err: { code?: string }) => err.code === 'TOKEN_UNKNOWN'),
    );
    await assert.rejects(t.applications.deleteApplication('gone'), { code: 'APPLICATION_NOT_FOUND' });
  });
});
