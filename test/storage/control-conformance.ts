/** The behaviour every ControlStorage must have; control-conformance.test.ts runs it on every backend of backends.ts. */
import assert from 'node:assert/strict';
import { describe, test } from '../helpers/test.js';
import type { CommandRecord, CommandTask, ConfigurationRecord } from '../../src/core/control.js';
import { isTetherError } from '../../src/core/errors.js';
import type { ControlStorage, Dispatch } from '../../src/storage/control.js';

export interface OpenedControlStorage {
  store: ControlStorage;
  cleanup: () => Promise<void>;
  /** Opens the same data again (durability); absent when the backend cannot. */
  reopen?: () => Promise<ControlStorage>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';
const T2 = '2026-01-03T00:00:00.000Z';
const T3 = '2026-01-04T00:00:00.000Z';
const T4 = '2026-01-05T00:00:00.000Z';

const config = (over: Partial<ConfigurationRecord> = {}): ConfigurationRecord => ({
  endpointId: 'e1', appVersionName: 'v1', name: '', configId: 'c1', config: { mode: 'eco', levels: [1, 2] }, createdDate: T0, updatedDate: T0, ...over,
});

const dispatch = (over: Partial<Dispatch> = {}): Dispatch => ({ endpointId: 'e1', appVersionName: 'v1', name: '', configId: 'c1', config: { mode: 'eco' }, at: T0, ...over });

const command = (over: Partial<Omit<CommandRecord, 'id'>> = {}): Omit<CommandRecord, 'id'> => ({
  endpointId: 'e1', applicationName: 'app', commandType: 'reboot', status: 'PENDING', requestPayload: { delay: 1 }, responsePayload: null,
  statusCode: null, reasonPhrase: null, createdAt: T0, updatedAt: T0, expiresAt: T2, lastDispatchedAt: null, taskId: null, ...over,
});

const task = (over: Partial<CommandTask> = {}): CommandTask => ({
  taskId: 't1', applicationName: 'app', commandType: 'reboot', requestPayload: { all: true }, createdAt: T0, expiresAt: T2, endpointCount: 3, ...over,
});

const unavailable = (err: unknown) => isTetherError(err) && err.code === 'UNAVAILABLE';

export function controlStorageConformance(name: string, open: () => Promise<OpenedControlStorage>): void {
  async function withStore(fn: (store: ControlStorage, opened: OpenedControlStorage) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await fn(opened.store, opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe(`ControlStorage conformance: ${name}`, () => {
    // --- configurations ------------------------------------------------------------------------

    test('configurations: put, get, replace (creation date kept), list by name, defaults apart from endpoints', () =>
      withStore(async (store) => {
        const key = { endpointId: 'e1', appVersionName: 'v1', name: '' };
        assert.equal(await store.getConfiguration(key), undefined);
        assert.equal(await store.putConfiguration(config()), 'ok');
        assert.deepEqual(await store.getConfiguration(key), config());
        assert.equal(await store.putConfiguration(config({ configId: 'c2', config: { mode: 'sport' }, createdDate: T1, updatedDate: T1 })), 'ok');
        assert.deepEqual(await store.getConfiguration(key), config({ configId: 'c2', config: { mode: 'sport' }, createdDate: T0, updatedDate: T1 }));

        await store.putConfiguration(config({ name: 'beta', configId: 'b' }));
        await store.putConfiguration(config({ name: 'alpha', configId: 'a' }));
        await store.putConfiguration(config({ endpointId: '', configId: 'd' }));
        await store.putConfiguration(config({ appVersionName: 'v2', configId: 'x' }));
        assert.deepEqual((await store.listConfigurations('e1', 'v1')).map((c) => [c.name, c.configId]), [['', 'c2'], ['alpha', 'a'], ['beta', 'b']]);
        assert.deepEqual((await store.listConfigurations('', 'v1')).map((c) => [c.name, c.configId]), [['', 'd']]);
        assert.deepEqual(await store.listConfigurations('e9', 'v1'), []);
        assert.equal(await store.hasConfigurations('v1'), true);
        assert.equal(await store.hasConfigurations('v-none'), false);
        // JSON documents of any shape come back as written.
        for (const [i, doc] of [null, 0, 'text', [1, 'a', null], { nested: { deep: [true, false] } }].entries()) {
          await store.putConfiguration(config({ name: `doc${i}`, config: doc }));
          assert.deepEqual((await store.getConfiguration({ ...key, name: `doc${i}` }))?.config, doc);
        }
      }));

    test('configurations: If-Match on put: "*" needs a stored one, an ID must match; a conflict changes nothing', () =>
      withStore(async (store) => {
        const key = { endpointId: 'e1', appVersionName: 'v1', name: 'n' };
        assert.equal(await store.putConfiguration(config({ name: 'n' }), '*'), 'conflict');
        assert.equal(await store.putConfiguration(config({ name: 'n' }), 'c1'), 'conflict');
        assert.equal(await store.getConfiguration(key), undefined);
        assert.equal(await store.putConfiguration(config({ name: 'n' })), 'ok');
        assert.equal(await store.putConfiguration(config({ name: 'n', configId: 'c2', updatedDate: T1 }), '*'), 'ok');
        assert.equal((await store.getConfiguration(key))?.configId, 'c2');
        assert.equal(await store.putConfiguration(config({ name: 'n', configId: 'c3', updatedDate: T2 }), 'c1'), 'conflict');
        assert.deepEqual(await store.getConfiguration(key), config({ name: 'n', configId: 'c2', updatedDate: T1 }));
        assert.equal(await store.putConfiguration(config({ name: 'n', configId: 'c3', config: { v: 3 }, updatedDate: T2 }), 'c2'), 'ok');
        assert.deepEqual(await store.getConfiguration(key), config({ name: 'n', configId: 'c3', config: { v: 3 }, updatedDate: T2 }));
      }));

    test('configurations: delete; If-Match "*" or the stored ID deletes, a stale ID or nothing stored is a conflict, plain delete of nothing is missing', () =>
      withStore(async (store) => {
        const key = { endpointId: 'e1', appVersionName: 'v1', name: '' };
        assert.equal(await store.deleteConfiguration(key), 'missing');
        assert.equal(await store.deleteConfiguration(key, '*'), 'conflict');
        assert.equal(await store.deleteConfiguration(key, 'c1'), 'conflict');
        await store.putConfiguration(config());
        await store.putConfiguration(config({ endpointId: '' }));
        assert.equal(await store.deleteConfiguration(key, 'stale'), 'conflict');
        assert.ok(await store.getConfiguration(key));
        assert.equal(await store.deleteConfiguration(key, 'c1'), 'ok');
        assert.equal(await store.getConfiguration(key), undefined);
        assert.ok(await store.getConfiguration({ ...key, endpointId: '' }), 'the default is another configuration');
        await store.putConfiguration(config());
        assert.equal(await store.deleteConfiguration(key, '*'), 'ok');
        await store.putConfiguration(config());
        assert.equal(await store.deleteConfiguration(key), 'ok');
        assert.equal(await store.deleteConfiguration(key), 'missing');
      }));

    test('configurations: putConfigurations stores many at once (the last of a key wins, creation dates kept) and endpointOverrides finds who has their own', () =>
      withStore(async (store) => {
        await store.putConfiguration(config({ endpointId: 'e2', name: 'n', createdDate: T0 }));
        const many = Array.from({ length: 500 }, (_, i) => config({ endpointId: `e${i}`, name: 'n', configId: 'bulk', createdDate: T1, updatedDate: T1 }));
        await store.putConfigurations([...many, config({ endpointId: 'e3', name: 'n', configId: 'later', createdDate: T2, updatedDate: T2 })]);
        await store.putConfigurations([]);
        assert.deepEqual(await store.getConfiguration({ endpointId: 'e2', appVersionName: 'v1', name: 'n' }), config({ endpointId: 'e2', name: 'n', configId: 'bulk', createdDate: T0, updatedDate: T1 }));
        assert.deepEqual(await store.getConfiguration({ endpointId: 'e3', appVersionName: 'v1', name: 'n' }), config({ endpointId: 'e3', name: 'n', configId: 'later', createdDate: T1, updatedDate: T2 }));
        assert.equal((await store.getConfiguration({ endpointId: 'e499', appVersionName: 'v1', name: 'n' }))?.configId, 'bulk');

        await store.putConfiguration(config({ endpointId: '', name: 'n', configId: 'default' }));
        await store.putConfiguration(config({ endpointId: 'x1', name: 'other' }));
        await store.putConfiguration(config({ endpointId: 'x2', appVersionName: 'v2', name: 'n' }));
        assert.deepEqual([...(await store.endpointOverrides('v1', 'n', ['e1', 'x1', 'x2', 'nobody', '']))].sort(), ['e1']);
        assert.deepEqual([...(await store.endpointOverrides('v1', 'n', ['e7', 'e8', 'e9']))].sort(), ['e7', 'e8', 'e9']);
        assert.deepEqual([...(await store.endpointOverrides('v1', 'n', []))], []);
        assert.deepEqual([...(await store.endpointOverrides('v1', 'none', ['e1']))], []);
      }));

    // --- delivery statuses -----------------------------------------------------------------------

    test('statuses: dispatch makes DISPATCHED; a 2xx confirmation APPLIED, anything else FAILED; a later dispatch keeps the confirmed status and moves the date', () =>
      withStore(async (store) => {
        await store.recordDispatches([dispatch({ at: T0 })]);
        const [dispatched] = (await store.queryStatuses({ offset: 0, limit: 10 })).content;
        assert.deepEqual(dispatched, {
          endpointId: 'e1', appVersionName: 'v1', name: '', configId: 'c1', status: 'DISPATCHED', config: { mode: 'eco' },
          lastDispatchedDate: T0, lastConfirmedDate: null, confirmationStatusCode: null, confirmationReasonPhrase: null,
        });
        await store.recordDispatches([dispatch({ at: T1 })]);
        assert.equal((await store.queryStatuses({ offset: 0, limit: 10 })).content[0]!.lastDispatchedDate, T1);

        await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: '', configId: 'c1', statusCode: 200, reasonPhrase: 'OK', at: T2 });
        const page = await store.queryStatuses({ offset: 0, limit: 10 });
        assert.equal(page.totalElements, 1);
        assert.deepEqual(page.content[0], { ...dispatched, status: 'APPLIED', lastDispatchedDate: T1, lastConfirmedDate: T2, confirmationStatusCode: 200, confirmationReasonPhrase: 'OK' });
        await store.recordDispatches([dispatch({ at: T3 })]);
        const again = (await store.queryStatuses({ offset: 0, limit: 10 })).content[0]!;
        assert.equal(again.status, 'APPLIED');
        assert.equal(again.lastDispatchedDate, T3);
        assert.equal(again.lastConfirmedDate, T2);

        for (const [code, status] of [[204, 'APPLIED'], [299, 'APPLIED'], [300, 'FAILED'], [199, 'FAILED'], [400, 'FAILED'], [500, 'FAILED']] as const) {
          const configId = `code-${code}`;
          await store.recordDispatches([dispatch({ configId })]);
          await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: '', configId, statusCode: code, reasonPhrase: null, at: T1 });
          const [s] = (await store.queryStatuses({ configId, offset: 0, limit: 10 })).content;
          assert.equal(s?.status, status, `status code ${code}`);
          assert.equal(s?.confirmationStatusCode, code);
        }
        // A failure then a success for the same configuration: the last answer counts.
        await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: '', configId: 'code-500', statusCode: 200, reasonPhrase: null, at: T4 });
        assert.equal((await store.queryStatuses({ configId: 'code-500', offset: 0, limit: 10 })).content[0]?.status, 'APPLIED');
      }));

    test('statuses: a confirmation never dispatched is recorded, with the document when it is stored (own or default) and null when not', () =>
      withStore(async (store) => {
        await store.putConfiguration(config({ endpointId: '', name: 'n', configId: 'd1', config: { from: 'default' } }));
        await store.putConfiguration(config({ endpointId: 'e1', name: 'm', configId: 'o1', config: { from: 'own' } }));
        await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: 'n', configId: 'd1', statusCode: 200, reasonPhrase: null, at: T1 });
        await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: 'm', configId: 'o1', statusCode: 500, reasonPhrase: 'bad', at: T1 });
        await store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: 'k', configId: 'gone', statusCode: 200, reasonPhrase: null, at: T1 });
        const byName = new Map((await store.queryStatuses({ endpointId: 'e1', offset: 0, limit: 10 })).content.map((s) => [s.name, s]));
        assert.deepEqual(byName.get('n'), {
          endpointId: 'e1', appVersionName: 'v1', name: 'n', configId: 'd1', status: 'APPLIED', config: { from: 'default' },
          lastDispatchedDate: null, lastConfirmedDate: T1, confirmationStatusCode: 200, confirmationReasonPhrase: null,
        });
        assert.equal(byName.get('m')?.status, 'FAILED');
        assert.deepEqual(byName.get('m')?.config, { from: 'own' });
        assert.equal(byName.get('m')?.confirmationReasonPhrase, 'bad');
        assert.equal(byName.get('k')?.config, null);
        // A dispatch after the confirmation keeps it confirmed.
        await store.recordDispatches([dispatch({ name: 'm', configId: 'o1', at: T2 })]);
        const m = (await store.queryStatuses({ endpointId: 'e1', name: 'm', offset: 0, limit: 10 })).content[0]!;
        assert.equal(m.status, 'FAILED');
        assert.equal(m.lastDispatchedDate, T2);
      }));

    test('statuses: appliedConfigIds gives the newest 2xx-confirmed configuration per name, of this endpoint and version only', () =>
      withStore(async (store) => {
        const confirm = (over: { endpointId?: string; appVersionName?: string; name?: string; configId: string; statusCode?: number; at: string }) =>
          store.recordConfirmation({ endpointId: 'e1', appVersionName: 'v1', name: '', statusCode: 200, reasonPhrase: null, ...over });
        assert.deepEqual(await store.appliedConfigIds('e1', 'v1'), new Map());
        await confirm({ configId: 'a', at: T1 });
        await confirm({ configId: 'b', at: T3 });
        await confirm({ configId: 'c', at: T2 });
        await confirm({ configId: 'f', statusCode: 500, at: T4 });
        await confirm({ name: 'n', configId: 'n1', at: T1 });
        await confirm({ endpointId: 'e2', configId: 'other', at: T4 });
        await confirm({ appVersionName: 'v2', configId: 'v2', at: T4 });
        assert.deepEqual(await store.appliedConfigIds('e1', 'v1'), new Map([['', 'b'], ['n', 'n1']]));
        assert.deepEqual(await store.appliedConfigIds('e2', 'v1'), new Map([['', 'other']]));
        assert.deepEqual(await store.appliedConfigIds('e3', 'v1'), new Map());
      }));

    test('statuses: newest first, paged, filtered by endpoint, version, configuration ID and name; a batch with one key twice is one status', () =>
      withStore(async (store) => {
        const dispatches: Dispatch[] = [];
        for (let i = 0; i < 12; i++) dispatches.push(dispatch({ endpointId: `e${i % 3}`, name: i % 2 === 0 ? '' : 'n', configId: `c${i}`, at: T0 }));
        await store.recordDispatches(dispatches.slice(0, 5));
        await store.recordDispatches(dispatches.slice(5));
        await store.recordDispatches([dispatch({ endpointId: 'e9', appVersionName: 'v2', configId: 'z', at: T0 }), dispatch({ endpointId: 'e9', appVersionName: 'v2', configId: 'z', at: T1 })]);
        await store.recordDispatches([]);
        const all = await store.queryStatuses({ offset: 0, limit: 100 });
        assert.equal(all.totalElements, 13);
        assert.deepEqual(all.content.map((s) => s.configId), ['z', ...Array.from({ length: 12 }, (_, i) => `c${11 - i}`)]);
        assert.equal(all.content[0]!.lastDispatchedDate, T1);
        const page = await store.queryStatuses({ offset: 3, limit: 4 });
        assert.equal(page.totalElements, 13);
        assert.deepEqual(page.content.map((s) => s.configId), ['c9', 'c8', 'c7', 'c6']);
        // A re-dispatch or a confirmation does not move a status in the history.
        await store.recordDispatches([dispatch({ endpointId: 'e0', configId: 'c0', at: T3 })]);
        await store.recordConfirmation({ endpointId: 'e0', appVersionName: 'v1', name: '', configId: 'c0', statusCode: 200, reasonPhrase: null, at: T3 });
        assert.equal((await store.queryStatuses({ offset: 0, limit: 100 })).content.at(-1)?.configId, 'c0');

        const e1 = await store.queryStatuses({ endpointId: 'e1', offset: 0, limit: 100 });
        assert.deepEqual(e1.content.map((s) => s.configId), ['c10', 'c7', 'c4', 'c1']);
        assert.equal(e1.totalElements, 4);
        assert.deepEqual((await store.queryStatuses({ appVersionName: 'v2', offset: 0, limit: 100 })).content.map((s) => s.configId), ['z']);
        assert.deepEqual((await store.queryStatuses({ configId: 'c5', offset: 0, limit: 100 })).content.map((s) => s.endpointId), ['e2']);
        const named = await store.queryStatuses({ endpointId: 'e1', appVersionName: 'v1', name: 'n', offset: 0, limit: 100 });
        assert.deepEqual(named.content.map((s) => s.configId), ['c7', 'c1']);
        assert.deepEqual(await store.queryStatuses({ endpointId: 'nobody', offset: 0, limit: 10 }), { totalElements: 0, content: [] });
      }));

    // --- commands --------------------------------------------------------------------------------

    test('commands: insert assigns increasing IDs and stores everything; getCommand, lastCommand, deleteCommand', () =>
      withStore(async (store) => {
        const input = [command(), command({ commandType: 'blink', requestPayload: [1, 2] }), command({ requestPayload: null, taskId: 't9', lastDispatchedAt: T1 })];
        const stored = await store.insertCommands(input);
        assert.equal(stored.length, 3);
        assert.ok(stored[0]!.id < stored[1]!.id && stored[1]!.id < stored[2]!.id, JSON.stringify(stored.map((c) => c.id)));
        for (const [i, c] of stored.entries()) {
          assert.deepEqual(c, { ...input[i], id: c.id });
          assert.deepEqual(await store.getCommand(c.id), c);
        }
        const more = await store.insertCommands([command()]);
        assert.ok(more[0]!.id > stored[2]!.id);
        assert.deepEqual(await store.insertCommands([]), []);
        assert.equal(await store.getCommand(more[0]!.id + 1000), undefined);

        assert.equal((await store.lastCommand('e1', 'reboot'))?.id, more[0]!.id);
        assert.equal((await store.lastCommand('e1', 'blink'))?.id, stored[1]!.id);
        assert.equal(await store.lastCommand('e2', 'reboot'), undefined);
        assert.equal(await store.deleteCommand(more[0]!.id), true);
        assert.equal(await store.deleteCommand(more[0]!.id), false);
        assert.equal(await store.getCommand(more[0]!.id), undefined);
        assert.equal((await store.lastCommand('e1', 'reboot'))?.id, stored[2]!.id);
      }));

    test('commands: 10,000 at once get increasing IDs in the order given', () =>
      withStore(async (store) => {
        const input = Array.from({ length: 10_000 }, (_, i) => command({ endpointId: `e${i}`, taskId: 'big' }));
        const stored = await store.insertCommands(input);
        assert.equal(stored.length, 10_000);
        for (let i = 0; i < stored.length; i++) {
          assert.equal(stored[i]!.endpointId, `e${i}`);
          if (i > 0) assert.ok(stored[i]!.id > stored[i - 1]!.id);
        }
        assert.equal((await store.queryCommands({ taskId: 'big', offset: 0, limit: 1 })).totalElements, 10_000);
        assert.equal((await store.getCommand(stored[9_999]!.id))?.endpointId, 'e9999');
        assert.equal((await store.lastCommand('e4321', 'reboot'))?.id, stored[4321]!.id);
      }));

    test('commands: outstanding are PENDING and unexpired, oldest first, of one type or all; markDispatched dates them without changing the status', () =>
      withStore(async (store) => {
        const [a, b, c, d, , f] = await store.insertCommands([
          command({ expiresAt: T2 }),
          command({ commandType: 'blink', expiresAt: T3 }),
          command({ expiresAt: T3 }),
          command({ expiresAt: T1 }),
          command({ endpointId: 'e2' }),
          command({ commandType: 'blink' }),
        ]);
        assert.deepEqual((await store.outstandingCommands('e1', T0)).map((x) => x.id), [a!.id, b!.id, c!.id, d!.id, f!.id]);
        assert.deepEqual((await store.outstandingCommands('e1', T0, 'reboot')).map((x) => x.id), [a!.id, c!.id, d!.id]);
        // Expiry is exclusive: a command expiring at `now` is not outstanding.
        assert.deepEqual((await store.outstandingCommands('e1', T1, 'reboot')).map((x) => x.id), [a!.id, c!.id]);
        assert.deepEqual((await store.outstandingCommands('e1', T2)).map((x) => x.id), [b!.id, c!.id]);
        assert.deepEqual(await store.outstandingCommands('e1', T0, 'none'), []);

        await store.markDispatched([a!.id, b!.id], T1);
        await store.markDispatched([], T1);
        assert.equal((await store.getCommand(a!.id))?.lastDispatchedAt, T1);
        assert.equal((await store.getCommand(a!.id))?.status, 'PENDING');
        assert.equal((await store.getCommand(c!.id))?.lastDispatchedAt, null);
        await store.completeCommands('e1', 'reboot', [{ id: c!.id, statusCode: 200 }], T0);
        assert.deepEqual((await store.outstandingCommands('e1', T0, 'reboot')).map((x) => x.id), [a!.id, d!.id]);
      }));

    test('commands: completeCommands executes PENDING unexpired commands of the endpoint and type; other IDs are unknown, finished ones change nothing', () =>
      withStore(async (store) => {
        const [a, b, c, other, blink, expiring] = await store.insertCommands([
          command(), command(), command(), command({ endpointId: 'e2' }), command({ commandType: 'blink' }), command({ expiresAt: T1 }),
        ]);
        const outcome = await store.completeCommands(
          'e1',
          'reboot',
          [
            { id: a!.id, statusCode: 200, reasonPhrase: 'done', payload: { ok: true } },
            { id: b!.id, statusCode: 500 },
            { id: 999_999_999, statusCode: 200 },
            { id: other!.id, statusCode: 200 },
            { id: blink!.id, statusCode: 200 },
            { id: a!.id, statusCode: 201 },
            { id: 2 ** 70, statusCode: 200 },
          ],
          T0,
        );
        assert.deepEqual(outcome.executed.map((x) => x.id), [a!.id, b!.id]);
        assert.deepEqual(outcome.executed[0], { ...a, status: 'EXECUTED', responsePayload: { ok: true }, statusCode: 200, reasonPhrase: 'done', updatedAt: T0 });
        assert.deepEqual(outcome.executed[1], { ...b, status: 'EXECUTED', responsePayload: null, statusCode: 500, reasonPhrase: null, updatedAt: T0 });
        assert.deepEqual(outcome.unknown, [999_999_999, other!.id, blink!.id, 2 ** 70]);
        assert.deepEqual(outcome.finished, [a!.id]);
        assert.deepEqual(await store.getCommand(a!.id), outcome.executed[0]);
        assert.equal((await store.getCommand(other!.id))?.status, 'PENDING');
        assert.equal((await store.getCommand(blink!.id))?.status, 'PENDING');

        // Already executed: nothing changes, not even the payload.
        const again = await store.completeCommands('e1', 'reboot', [{ id: a!.id, statusCode: 400, payload: 'late' }], T1);
        assert.deepEqual(again, { executed: [], unknown: [], finished: [a!.id] });
        assert.deepEqual(await store.getCommand(a!.id), outcome.executed[0]);

        // Expired by time (not yet swept) and expired by the sweep: both stay as they are.
        assert.deepEqual(await store.completeCommands('e1', 'reboot', [{ id: expiring!.id, statusCode: 200 }], T1), { executed: [], unknown: [], finished: [expiring!.id] });
        assert.equal((await store.getCommand(expiring!.id))?.status, 'PENDING');
        await store.expireCommands(T1, 10);
        assert.deepEqual(await store.completeCommands('e1', 'reboot', [{ id: expiring!.id, statusCode: 200 }], T0), { executed: [], unknown: [], finished: [expiring!.id] });
        assert.equal((await store.getCommand(expiring!.id))?.status, 'EXPIRED');

        assert.deepEqual(await store.completeCommands('e1', 'reboot', [], T0), { executed: [], unknown: [], finished: [] });
        const last = await store.completeCommands('e1', 'reboot', [{ id: c!.id, statusCode: 200, payload: [1, 'two'] }], T0);
        assert.deepEqual(last.executed[0]?.responsePayload, [1, 'two']);
      }));

    test('commands: results for one command reported at once (two nodes) execute it once', () =>
      withStore(async (store) => {
        const [a] = await store.insertCommands([command()]);
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.completeCommands('e1', 'reboot', [{ id: a!.id, statusCode: 200 + i, payload: i }], T0)),
        );
        assert.equal(outcomes.filter((o) => o.executed.length === 1).length, 1);
        assert.equal(outcomes.filter((o) => o.finished.length === 1).length, 7);
        const winner = outcomes.find((o) => o.executed.length === 1)!.executed[0]!;
        assert.deepEqual(await store.getCommand(a!.id), winner);
      }));

    test('commands: many devices reporting, being sent commands and configurations at once each get their own outcome', () =>
      withStore(async (store) => {
        const stored = await store.insertCommands(Array.from({ length: 50 }, (_, i) => command({ endpointId: `d${i}` })));
        const [foreign] = await store.insertCommands([command({ endpointId: 'elsewhere' })]);
        const calls = stored.map((c, i) =>
          i % 2 === 0
            ? store.completeCommands(c.endpointId, 'reboot', [{ id: c.id, statusCode: 200, payload: i }, { id: foreign!.id, statusCode: 200 }, { id: c.id, statusCode: 500 }], T0)
            : store.markDispatched([c.id], T1).then(() => undefined),
        );
        const dispatched = store.recordDispatches(stored.map((c) => dispatch({ endpointId: c.endpointId, at: T1 })));
        const outcomes = await Promise.all(calls);
        await dispatched;
        for (const [i, c] of stored.entries()) {
          const now = await store.getCommand(c.id);
          if (i % 2 === 0) {
            assert.deepEqual(outcomes[i], { executed: [{ ...c, status: 'EXECUTED', responsePayload: i, statusCode: 200, updatedAt: T0 }], unknown: [foreign!.id], finished: [c.id] });
            assert.equal(now?.status, 'EXECUTED');
          } else {
            assert.equal(now?.status, 'PENDING');
            assert.equal(now?.lastDispatchedAt, T1);
          }
        }
        assert.equal((await store.getCommand(foreign!.id))?.status, 'PENDING');
        assert.equal((await store.queryStatuses({ offset: 0, limit: 1 })).totalElements, 50);
      }));

    test('commands: queryCommands newest first, paged, filtered by endpoints (2,000 of them), application, types, statuses and task', () =>
      withStore(async (store) => {
        const input: Array<Omit<CommandRecord, 'id'>> = [];
        for (let i = 0; i < 30; i++) {
          input.push(command({ endpointId: `e${i % 5}`, applicationName: i % 2 === 0 ? 'app' : 'other', commandType: i % 3 === 0 ? 'blink' : 'reboot', taskId: i < 10 ? 't1' : null }));
        }
        const stored = await store.insertCommands(input);
        await store.completeCommands('e0', 'reboot', stored.filter((c) => c.endpointId === 'e0' && c.commandType === 'reboot').map((c) => ({ id: c.id, statusCode: 200 })), T0);
        await store.completeCommands('e1', 'reboot', [], T0);
        // All expire at T2: which two is the store's choice; the rest of the test reads it back.
        await store.expireCommands(T4, 2);
        const ids = (cs: CommandRecord[]) => cs.map((c) => c.id);
        const newestFirst = [...stored].reverse();

        const all = await store.queryCommands({ offset: 0, limit: 100 });
        assert.equal(all.totalElements, 30);
        assert.deepEqual(ids(all.content), ids(newestFirst));
        const page = await store.queryCommands({ offset: 5, limit: 5 });
        assert.deepEqual(ids(page.content), ids(newestFirst.slice(5, 10)));
        assert.equal(page.totalElements, 30);

        const manyIds = [...Array.from({ length: 1_998 }, (_, i) => `absent-${i}`), 'e1', 'e3'];
        const some = await store.queryCommands({ endpointIds: manyIds, offset: 0, limit: 100 });
        assert.deepEqual(ids(some.content), ids(newestFirst.filter((c) => c.endpointId === 'e1' || c.endpointId === 'e3')));
        assert.equal(some.totalElements, 12);
        assert.deepEqual(await store.queryCommands({ endpointIds: [], offset: 0, limit: 100 }), { totalElements: 0, content: [] });

        assert.deepEqual(ids((await store.queryCommands({ applicationName: 'other', offset: 0, limit: 100 })).content), ids(newestFirst.filter((c) => c.applicationName === 'other')));
        assert.deepEqual(ids((await store.queryCommands({ commandTypes: ['blink'], offset: 0, limit: 100 })).content), ids(newestFirst.filter((c) => c.commandType === 'blink')));
        assert.equal((await store.queryCommands({ commandTypes: ['blink', 'reboot'], offset: 0, limit: 100 })).totalElements, 30);
        assert.equal((await store.queryCommands({ commandTypes: [], offset: 0, limit: 100 })).totalElements, 30);

        const executed = stored.filter((c) => c.endpointId === 'e0' && c.commandType === 'reboot');
        assert.deepEqual(ids((await store.queryCommands({ statuses: ['EXECUTED'], offset: 0, limit: 100 })).content), ids([...executed].reverse()));
        const expired = await store.queryCommands({ statuses: ['EXPIRED'], offset: 0, limit: 100 });
        assert.equal(expired.totalElements, 2);
        assert.equal((await store.queryCommands({ statuses: ['PENDING'], offset: 0, limit: 100 })).totalElements, 30 - executed.length - 2);
        assert.equal((await store.queryCommands({ statuses: ['EXECUTED', 'EXPIRED'], offset: 0, limit: 100 })).totalElements, executed.length + 2);

        assert.deepEqual(ids((await store.queryCommands({ taskId: 't1', offset: 0, limit: 100 })).content), ids(newestFirst.filter((c) => c.taskId === 't1')));
        // e0's reboots are executed: of e0 and e2, only e2's still-pending ones match.
        const combined = await store.queryCommands({ endpointIds: ['e0', 'e2'], applicationName: 'app', commandTypes: ['reboot'], statuses: ['PENDING'], taskId: 't1', offset: 0, limit: 100 });
        const expiredIds = new Set(ids(expired.content));
        const expected = newestFirst.filter((c) => c.endpointId === 'e2' && c.applicationName === 'app' && c.commandType === 'reboot' && c.taskId === 't1' && !expiredIds.has(c.id));
        assert.deepEqual(ids(combined.content), ids(expected));
        assert.equal(combined.totalElements, expected.length);
      }));

    test('commands: expireCommands turns due PENDING commands EXPIRED, earliest first, at most `limit`, and returns them', () =>
      withStore(async (store) => {
        const [a, b, c, d] = await store.insertCommands([command({ expiresAt: T2 }), command({ expiresAt: T1 }), command({ expiresAt: T3 }), command({ expiresAt: T1, commandType: 'blink' })]);
        await store.completeCommands('e1', 'blink', [{ id: d!.id, statusCode: 200 }], T0);
        assert.deepEqual(await store.expireCommands(T0, 10), []);
        const first = await store.expireCommands(T2, 1);
        assert.deepEqual(first, [{ ...b, status: 'EXPIRED', updatedAt: T2 }]);
        const second = await store.expireCommands(T2, 10);
        assert.deepEqual(second, [{ ...a, status: 'EXPIRED', updatedAt: T2 }]);
        assert.deepEqual(await store.expireCommands(T2, 10), []);
        assert.equal((await store.getCommand(c!.id))?.status, 'PENDING');
        assert.equal((await store.getCommand(d!.id))?.status, 'EXECUTED');
        assert.deepEqual(await store.getCommand(a!.id), { ...a, status: 'EXPIRED', updatedAt: T2 });
        assert.deepEqual(await store.outstandingCommands('e1', T0), [c]);
      }));

    test('commands: pruneCommands removes finished commands updated before the cutoff, and expired tasks without commands', () =>
      withStore(async (store) => {
        await store.insertTask(task({ taskId: 'old', expiresAt: T1 }));
        await store.insertTask(task({ taskId: 'kept', expiresAt: T1 }));
        await store.insertTask(task({ taskId: 'young', expiresAt: T4 }));
        const [done, expiring, pending, recent] = await store.insertCommands([
          command({ taskId: 'old' }), command({ expiresAt: T1 }), command({ taskId: 'kept', expiresAt: T4 }), command(),
        ]);
        await store.completeCommands('e1', 'reboot', [{ id: done!.id, statusCode: 200 }], T0);
        await store.expireCommands(T1, 10);
        await store.completeCommands('e1', 'reboot', [{ id: recent!.id, statusCode: 200 }], T1);
        // Strictly before: updated at T0 goes, updated at T1 stays; 'old' expires at T1, not before it.
        assert.equal(await store.pruneCommands(T1), 1);
        assert.equal(await store.getCommand(done!.id), undefined);
        assert.ok(await store.getCommand(expiring!.id));
        assert.ok(await store.getTask('old'));
        assert.equal(await store.pruneCommands(T2), 2);
        assert.equal(await store.getCommand(expiring!.id), undefined);
        assert.equal(await store.getCommand(recent!.id), undefined);
        assert.ok(await store.getCommand(pending!.id), 'a PENDING command is never pruned');
        assert.equal(await store.getTask('old'), undefined);
        assert.ok(await store.getTask('kept'), 'a task with commands left stays');
        assert.ok(await store.getTask('young'), 'a task not expired stays');
        assert.equal(await store.pruneCommands(T0), 0);
      }));

    test('tasks: insert, progress counts per status, list newest first by application with paging', () =>
      withStore(async (store) => {
        await store.insertTask(task({ taskId: 't1', createdAt: T0 }));
        await store.insertTask(task({ taskId: 't2', createdAt: T1, applicationName: 'other', endpointCount: 1 }));
        await store.insertTask(task({ taskId: 't3', createdAt: T2, commandType: 'blink', requestPayload: null }));
        const [a] = await store.insertCommands([command({ taskId: 't1', endpointId: 'x' }), command({ taskId: 't1', endpointId: 'y', expiresAt: T1 }), command({ taskId: 't1', endpointId: 'z' })]);
        await store.completeCommands('x', 'reboot', [{ id: a!.id, statusCode: 200 }], T0);
        await store.expireCommands(T1, 10);
        assert.deepEqual(await store.getTask('t1'), { ...task({ taskId: 't1' }), pending: 1, executed: 1, expired: 1 });
        assert.deepEqual(await store.getTask('t3'), { ...task({ taskId: 't3', createdAt: T2, commandType: 'blink', requestPayload: null }), pending: 0, executed: 0, expired: 0 });
        assert.equal(await store.getTask('nope'), undefined);

        const all = await store.listTasks(undefined, 0, 10);
        assert.equal(all.totalElements, 3);
        assert.deepEqual(all.content.map((t) => t.taskId), ['t3', 't2', 't1']);
        assert.deepEqual(all.content[2], await store.getTask('t1'));
        const app = await store.listTasks('app', 1, 1);
        assert.equal(app.totalElements, 2);
        assert.deepEqual(app.content.map((t) => [t.taskId, t.executed]), [['t1', 1]]);
        assert.deepEqual(await store.listTasks('none', 0, 10), { totalElements: 0, content: [] });
      }));

    // --- endpoints, lifecycle --------------------------------------------------------------------

    test('deleteEndpoint removes its configurations, statuses and commands, and nothing of other endpoints or the defaults', () =>
      withStore(async (store) => {
        await store.putConfiguration(config({ endpointId: 'e1' }));
        await store.putConfiguration(config({ endpointId: 'e1', name: 'n' }));
        await store.putConfiguration(config({ endpointId: 'e2' }));
        await store.putConfiguration(config({ endpointId: '' }));
        await store.recordDispatches([dispatch({ endpointId: 'e1' }), dispatch({ endpointId: 'e2' })]);
        const [gone, kept] = await store.insertCommands([command({ endpointId: 'e1' }), command({ endpointId: 'e2' })]);
        await store.deleteEndpoint('e1');
        await store.deleteEndpoint('nobody');
        assert.deepEqual(await store.listConfigurations('e1', 'v1'), []);
        assert.equal((await store.listConfigurations('e2', 'v1')).length, 1);
        assert.equal((await store.listConfigurations('', 'v1')).length, 1);
        assert.deepEqual((await store.queryStatuses({ offset: 0, limit: 10 })).content.map((s) => s.endpointId), ['e2']);
        assert.equal(await store.getCommand(gone!.id), undefined);
        assert.ok(await store.getCommand(kept!.id));
      }));

    test('hasPendingCommands: true while a command of the application is PENDING, false once none is', () =>
      withStore(async (store) => {
        assert.equal(await store.hasPendingCommands('app'), false);
        const [c] = await store.insertCommands([command({ applicationName: 'app' })]);
        assert.equal(await store.hasPendingCommands('app'), true);
        assert.equal(await store.hasPendingCommands('app2'), false);
        await store.completeCommands(c!.endpointId, c!.commandType, [{ id: c!.id, statusCode: 200 }], T1);
        assert.equal(await store.hasPendingCommands('app'), false);
      }));

    test('deleteApplication removes the configurations and statuses of its versions (defaults included), its commands and tasks, and nothing of other versions', () =>
      withStore(async (store) => {
        await store.putConfiguration(config({ endpointId: '' }));
        await store.putConfiguration(config({ endpointId: 'e1', name: 'n' }));
        await store.putConfiguration(config({ endpointId: '', appVersionName: 'other' }));
        await store.recordDispatches([dispatch({ endpointId: 'e1' }), dispatch({ endpointId: 'e2', appVersionName: 'other' })]);
        const [gone, kept] = await store.insertCommands([command({ endpointId: 'e1' }), command({ endpointId: 'e2', applicationName: 'app2' })]);
        await store.deleteApplication(gone!.applicationName, ['v1']);
        assert.deepEqual(await store.listConfigurations('', 'v1'), []);
        assert.deepEqual(await store.listConfigurations('e1', 'v1'), []);
        assert.equal(await store.hasConfigurations('v1'), false);
        assert.equal((await store.listConfigurations('', 'other')).length, 1);
        assert.deepEqual((await store.queryStatuses({ offset: 0, limit: 10 })).content.map((s) => s.appVersionName), ['other']);
        assert.equal(await store.getCommand(gone!.id), undefined);
        assert.ok(await store.getCommand(kept!.id));
      }));

    test('durable: what was written is there after reopening, and new command IDs keep increasing', () =>
      withStore(async (store, opened) => {
        if (!opened.reopen) return;
        await store.putConfiguration(config());
        await store.recordDispatches([dispatch()]);
        const [c] = await store.insertCommands([command()]);
        await store.close();
        const again = await opened.reopen();
        try {
          assert.deepEqual(await again.getConfiguration({ endpointId: 'e1', appVersionName: 'v1', name: '' }), config());
          assert.equal((await again.queryStatuses({ offset: 0, limit: 10 })).totalElements, 1);
          assert.deepEqual(await again.getCommand(c!.id), c);
          const [d] = await again.insertCommands([command()]);
          assert.ok(d!.id > c!.id);
          await again.recordDispatches([dispatch({ configId: 'c2' })]);
          assert.deepEqual((await again.queryStatuses({ offset: 0, limit: 10 })).content.map((s) => s.configId), ['c2', 'c1']);
        } finally {
          await again.close();
        }
      }));

    test('calls after close reject with UNAVAILABLE; closing twice is harmless', () =>
      withStore(async (store) => {
        await store.close();
        await store.close();
        const key = { endpointId: 'e1', appVersionName: 'v1', name: '' };
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['getConfiguration', () => store.getConfiguration(key)],
          ['putConfiguration', () => store.putConfiguration(config())],
          ['putConfigurations', () => store.putConfigurations([config()])],
          ['deleteConfiguration', () => store.deleteConfiguration(key)],
          ['listConfigurations', () => store.listConfigurations('e1', 'v1')],
          ['endpointOverrides', () => store.endpointOverrides('v1', '', ['e1'])],
          ['recordDispatches', () => store.recordDispatches([dispatch()])],
          ['recordConfirmation', () => store.recordConfirmation({ ...key, configId: 'c1', statusCode: 200, reasonPhrase: null, at: T0 })],
          ['appliedConfigIds', () => store.appliedConfigIds('e1', 'v1')],
          ['queryStatuses', () => store.queryStatuses({ offset: 0, limit: 10 })],
          ['insertCommands', () => store.insertCommands([command()])],
          ['getCommand', () => store.getCommand(1)],
          ['outstandingCommands', () => store.outstandingCommands('e1', T0)],
          ['markDispatched', () => store.markDispatched([1], T0)],
          ['completeCommands', () => store.completeCommands('e1', 'reboot', [{ id: 1, statusCode: 200 }], T0)],
          ['queryCommands', () => store.queryCommands({ offset: 0, limit: 10 })],
          ['lastCommand', () => store.lastCommand('e1', 'reboot')],
          ['deleteCommand', () => store.deleteCommand(1)],
          ['expireCommands', () => store.expireCommands(T0, 10)],
          ['pruneCommands', () => store.pruneCommands(T0)],
          ['insertTask', () => store.insertTask(task())],
          ['getTask', () => store.getTask('t1')],
          ['listTasks', () => store.listTasks(undefined, 0, 10)],
          ['deleteEndpoint', () => store.deleteEndpoint('e1')],
        ];
        for (const [method, call] of calls) await assert.rejects(call(), unavailable, method);
      }));
  });
}
