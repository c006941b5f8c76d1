import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { CommandService } from '../../src/commands/service.js';
import type { DeviceChannel, DeviceLink } from '../../src/core/device-link.js';
import { createTestServices } from '../helpers/services.js';
import { settle } from '../helpers/wait.js';

/** A channel as the transport keeps one, recording what is pushed to it. */
function recordingLink(endpointId: string) {
  const sent = new Map<string, string>();
  const pushed: Array<{ resource: string; payload: unknown }> = [];
  const channel: DeviceChannel = {
    endpointId,
    applicationName: 'demo_application',
    appVersionName: 'demo_application_v1',
    sessionId: 's-1',
    open: true,
    observes: () => true,
    setObserving: () => {},
    lastSent: (key) => sent.get(key),
    noteSent: (key, value) => void sent.set(key, value),
    forgetSent: (key) => void sent.delete(key),
  };
  const link: DeviceLink = {
    channelsOf: (id) => (id === endpointId ? [channel] : []),
    channelsOfVersion: () => [channel],
    push: (_channel, _instance, resource, payload) => void pushed.push({ resource, payload: JSON.parse(payload.toString()) }),
    onChannelOpened: () => () => {},
  };
  return { link, pushed, sent };
}

describe('command service', () => {
  it('pushes commands announced out of order (IDs handed out before their rows commit), each once', async (t) => {
    const services = await createTestServices({ declare: [{ name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx', 'cex'] }] }] });
    t.after(() => services.close());
    const store = await services.place.openControl();
    t.after(() => store.close());
    const { endpoint } = await services.registry.createEndpoint({ appVersionName: 'demo_application_v1' });
    const commands = new CommandService({ store, bus: services.bus, applications: services.applications, registry: services.registry, settings: { background: false } });
    t.after(() => commands.close());
    const { link, pushed, sent } = recordingLink(endpoint.endpointId);
    commands.attach(link);
    const announce = (id: number) =>
      services.bus.publish({ type: 'commands.created', applicationName: 'demo_application', commandType: 'reboot', requestPayload: { id }, commands: [{ id, endpointId: endpoint.endpointId }], at: new Date().toISOString() });
    await announce(102);
    await announce(101);
    await announce(102);
    await settle();
    await settle();
    assert.deepEqual(pushed.map((p) => p.payload), [[{ id: 102, payload: { id: 102 } }], [{ id: 101, payload: { id: 101 } }]]);
    assert.equal(sent.size, 2);
  });
});
