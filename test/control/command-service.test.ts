import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { CommandService } from '../../src/commands/service.js';
import type { DeviceChannel, DeviceLink } from '../../src/core/device-link.js';
import { createTestServices } from '../helpers/services.js';
import { createTestClock } from '../helpers/clock.js';
import { settle, waitFor } from '../helpers/wait.js';

/** A channel as the transport keeps one, recording what is pushed to it. */
function recordingLink(endpointId: string) {
  const sent = new Map<string, string>();
  const pushed: Array<{ resource: string; payload: unknown }> = [];
  const channel: DeviceChannel = {
    endpointId,
    applicationName: 'demo_application',
    appVersionName: 'demo_application_v1',
    sessionId: 's-1',
    localAddress: '127.0.0.1',
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

describe('command service: sessions of fleets without pending commands', () => {
  it('opens them without reading commands, and reads again once a command is created or found pending', async (t) => {
    const services = await createTestServices({ declare: [{ name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx', 'cex'] }] }] });
    t.after(() => services.close());
    const store = await services.place.openControl();
    t.after(() => store.close());
    let reads = 0;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'outstandingCommands') reads++;
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const clock = createTestClock(Date.now());
    const { endpoint } = await services.registry.createEndpoint({ appVersionName: 'demo_application_v1' });
    const deps = { store: counted, bus: services.bus, applications: services.applications, registry: services.registry, clock, settings: { background: false } };
    const commands = new CommandService(deps);
    t.after(() => commands.close());
    const { link, pushed } = recordingLink(endpoint.endpointId);
    let opened: ((channel: DeviceChannel) => void) | undefined;
    commands.attach({ ...link, onChannelOpened: (handler) => ((opened = handler), () => {}) });
    const channel = link.channelsOf(endpoint.endpointId)[0]!;
    const openChannel = async () => {
      opened!(channel);
      await settle();
      await settle();
    };

    await openChannel();
    assert.equal(reads, 0, 'a session of an application without pending commands read them');
    const sent = await commands.send({ endpointId: endpoint.endpointId, commandType: 'reboot', payload: { now: true } });
    await settle();
    assert.equal(pushed.length, 1, 'the live session was sent the new command');
    await openChannel();
    assert.equal(reads, 1, 'with a command pending, a new session reads what is outstanding');

    await commands.report(endpoint.endpointId, 'demo_application', 'reboot', [{ id: sent.id, statusCode: 200 }]);
    clock.advance(11_000);
    await commands.sweep();
    await openChannel();
    assert.equal(reads, 1, 'after the recheck found nothing pending, a new session reads nothing again');

    // Another node created a command before this one started: the first session reads and gets it.
    await store.insertCommands([{ endpointId: endpoint.endpointId, applicationName: 'demo_application', commandType: 'reboot', status: 'PENDING', requestPayload: { other: 'node' }, responsePayload: null, statusCode: null, reasonPhrase: null, createdAt: clock.iso(), updatedAt: clock.iso(), expiresAt: new Date(clock.now() + 60_000).toISOString(), lastDispatchedAt: null, taskId: null }]);
    const fresh = new CommandService(deps);
    t.after(() => fresh.close());
    const second = recordingLink(endpoint.endpointId);
    let openedFresh: ((channel: DeviceChannel) => void) | undefined;
    fresh.attach({ ...second.link, onChannelOpened: (handler) => ((openedFresh = handler), () => {}) });
    openedFresh!(second.link.channelsOf(endpoint.endpointId)[0]!);
    await waitFor('the pending command to reach the session', () => second.pushed.length === 1);
  });
});
