/**
 * The live stream's view of configuration and command events: the endpoint page refreshes its
 * delivery statuses and command list from them (docs/dashboard.md, Configurations and commands).
 */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { toDashboardEvent } from '../../src/dashboard/server/live-events.js';

const at = '2026-12-06T21:00:00.000Z';

test('configuration.confirmed reaches the dashboard with the REST name ("default" for the unnamed one)', () => {
  const base = { type: 'configuration.confirmed', endpointId: 'e1', applicationName: 'app', appVersionName: 'app_v1', configId: 'c1', statusCode: 200, at } as const;
  assert.deepEqual(toDashboardEvent({ ...base, name: '' }), { type: 'configuration.confirmed', endpointId: 'e1', at, name: 'default', configId: 'c1', statusCode: 200 });
  assert.deepEqual(toDashboardEvent({ ...base, name: 'network' }), { type: 'configuration.confirmed', endpointId: 'e1', at, name: 'network', configId: 'c1', statusCode: 200 });
});

test('command.finished reaches the dashboard with the command ID as the CEX REST answers it', () => {
  const shown = toDashboardEvent({ type: 'command.finished', id: 42, endpointId: 'e1', applicationName: 'app', commandType: 'reboot', status: 'EXECUTED', at });
  assert.deepEqual(shown, { type: 'command.finished', endpointId: 'e1', at, commandId: '42', commandType: 'reboot', status: 'EXECUTED' });
});

test('configuration.changed and commands.created stay off the stream (not about one endpoint)', () => {
  assert.equal(toDashboardEvent({ type: 'configuration.changed', applicationName: 'app', appVersionName: 'app_v1', name: '', endpointIds: null, at }), undefined);
  assert.equal(toDashboardEvent({ type: 'commands.created', applicationName: 'app', commandType: 'reboot', requestPayload: null, commands: [{ id: 1, endpointId: 'e1' }], at }), undefined);
});

test('software.reported reaches the dashboard with the version and, for a failure, its reason; software.offered stays off', () => {
  const shown = toDashboardEvent({ type: 'software.reported', endpointId: 'e1', applicationName: 'app', appVersionName: 'app_v1', version: '1.2.0', statusCode: 500, reasonPhrase: 'SHA-256 mismatch', at });
  assert.deepEqual(shown, { type: 'software.reported', endpointId: 'e1', at, version: '1.2.0', statusCode: 500, reasonPhrase: 'SHA-256 mismatch' });
  assert.equal(toDashboardEvent({ type: 'software.offered', applicationName: 'app', version: '1.2.0', rolloutId: 'r1', endpointIds: ['e1'], at }), undefined);
});
