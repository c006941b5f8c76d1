import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from '../helpers/test.js';
import type { Metadata } from '../../src/core/types.js';
import { DEMO_APP, type TestServices, createTestServices } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const VERSION = 'guarded_v1';
const INITIAL: Metadata = { name: 'Sensor 1', serial: 'SN-1', secret: 'k3y', location: { lat: 1, lon: 2 } };

describe('registry: metadata and 10/EPMP key access', () => {
  let t: TestServices;
  let id: string;
  beforeEach(async () => {
    t = await createTestServices({
      declare: [
        {
          name: DEMO_APP,
          versions: [{ name: VERSION, extensions: ['epmx'], metadataKeyAccess: { serial: 'read-only', secret: 'hidden' } }],
        },
      ],
    });
    id = (await t.registry.createEndpoint({ appVersionName: VERSION, metadata: INITIAL })).endpoint.endpointId;
  });
  afterEach(() => t.close());

  const stored = () => t.registry.getMetadata(id, 'operator');

  test('operators change metadata without restriction', async () => {
    assert.deepEqual(await t.registry.changeMetadata(id, { kind: 'merge', metadata: { serial: 'SN-2', secret: 'new' } }, 'operator'), {
      ...INITIAL,
      serial: 'SN-2',
      secret: 'new',
    });
    assert.deepEqual(await t.registry.changeMetadata(id, { kind: 'delete', keys: ['secret'] }, 'operator'), {
      name: 'Sensor 1',
      serial: 'SN-2',
      location: { lat: 1, lon: 2 },
    });
    // 10/EPMP: a full update removes keys absent from the payload.
    assert.deepEqual(await t.registry.changeMetadata(id, { kind: 'replace', metadata: { only: true } }, 'operator'), { only: true });
    assert.deepEqual(await stored(), { only: true });
    const endpoint = await t.registry.getEndpoint(id, false);
    assert.ok(endpoint.metadataUpdatedDate);
    await waitFor('metadata.updated events', () => t.events.filter((e) => e.type === 'metadata.updated').length === 3);
    const last = t.events.findLast((e) => e.type === 'metadata.updated');
    assert.deepEqual(last?.type === 'metadata.updated' && [last.endpointId, last.applicationName, last.metadata], [id, DEMO_APP, { only: true }]);
  });

  test('invalid keys are rejected for every operation', async () => {
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'merge', metadata: { 'a-b': 1 } }, 'operator'), { code: 'METADATA_KEY_INVALID' });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'replace', metadata: { 'a b': 1 } }, 'device'), { code: 'METADATA_KEY_INVALID' });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'delete', keys: ['a.b'] }, 'device'), { code: 'METADATA_KEY_INVALID' });
    assert.deepEqual(await stored(), INITIAL);
  });

  test('devices do not see hidden keys', async () => {
    const { secret: _hidden, ...visible } = INITIAL;
    assert.deepEqual(await t.registry.getMetadata(id, 'device'), visible);
    assert.deepEqual(await t.registry.metadataKeys(id, 'device'), ['location', 'name', 'serial']);
    assert.deepEqual(await t.registry.metadataKeys(id, 'operator'), ['location', 'name', 'secret', 'serial']);
  });

  test('device partial update: read-write keys change, read-only and hidden keys are denied', async () => {
    const { secret: _hidden, ...visible } = INITIAL;
    assert.deepEqual(await t.registry.changeMetadata(id, { kind: 'merge', metadata: { name: 'Sensor 2', fresh: 1 } }, 'device'), {
      ...visible,
      name: 'Sensor 2',
      fresh: 1,
    });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'merge', metadata: { name: 'X', serial: 'SN-9' } }, 'device'), {
      code: 'METADATA_KEY_WRITE_DENIED',
      status: 403,
    });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'merge', metadata: { secret: 'guess' } }, 'device'), {
      code: 'METADATA_KEY_WRITE_DENIED',
    });
    assert.deepEqual(await stored(), { ...INITIAL, name: 'Sensor 2', fresh: 1 }, 'denied requests change nothing');
    // Sending a read-only key back with its current value is not a write.
    await t.registry.changeMetadata(id, { kind: 'merge', metadata: { serial: 'SN-1', name: 'Sensor 3' } }, 'device');
    assert.deepEqual(await stored(), { ...INITIAL, name: 'Sensor 3', fresh: 1 });
  });

  test('device delete: read-only and hidden keys are denied', async () => {
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'delete', keys: ['name', 'serial'] }, 'device'), {
      code: 'METADATA_KEY_WRITE_DENIED',
    });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'delete', keys: ['secret'] }, 'device'), { code: 'METADATA_KEY_WRITE_DENIED' });
    assert.deepEqual(await stored(), INITIAL);
    await t.registry.changeMetadata(id, { kind: 'delete', keys: ['location'] }, 'device');
    const { location: _gone, ...rest } = INITIAL;
    assert.deepEqual(await stored(), rest);
  });

  test('device full update keeps keys the device may not write', async () => {
    // 10/EPMP: the server MUST NOT modify or delete keys that are not writable by the client.
    const result = await t.registry.changeMetadata(id, { kind: 'replace', metadata: { name: 'Renamed', vendorId: 2 } }, 'device');
    assert.deepEqual(result, { name: 'Renamed', vendorId: 2, serial: 'SN-1' });
    assert.deepEqual(await stored(), { name: 'Renamed', vendorId: 2, serial: 'SN-1', secret: 'k3y' });
  });

  test('device full update naming a protected key with a new value is denied', async () => {
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'replace', metadata: { name: 'A', serial: 'SN-2' } }, 'device'), {
      code: 'METADATA_KEY_WRITE_DENIED',
    });
    await assert.rejects(t.registry.changeMetadata(id, { kind: 'replace', metadata: { name: 'A', secret: 'k3y' } }, 'device'), {
      code: 'METADATA_KEY_WRITE_DENIED',
    });
    assert.deepEqual(await stored(), INITIAL);
    // What the device read, sent back whole, is accepted.
    const readBack = await t.registry.getMetadata(id, 'device');
    await t.registry.changeMetadata(id, { kind: 'replace', metadata: { ...readBack, name: 'B' } }, 'device');
    assert.deepEqual(await stored(), { ...INITIAL, name: 'B' });
  });

  test('full updates of one endpoint from device and operator do not lose protected keys', async () => {
    await Promise.all([
      t.registry.changeMetadata(id, { kind: 'merge', metadata: { secret: 'rotated' } }, 'operator'),
      t.registry.changeMetadata(id, { kind: 'replace', metadata: { name: 'C' } }, 'device'),
    ]);
    assert.deepEqual(await stored(), { name: 'C', serial: 'SN-1', secret: 'rotated' });
  });

  test('keys named like Object.prototype members are ordinary keys', async () => {
    await t.registry.changeMetadata(id, { kind: 'merge', metadata: { constructor: 1, toString: 'x' } }, 'device');
    const metadata = await t.registry.getMetadata(id, 'device');
    assert.equal(metadata.constructor, 1);
    assert.equal(metadata.toString, 'x');
  });
});
