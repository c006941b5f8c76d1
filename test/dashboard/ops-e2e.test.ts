/**
 * The team features of the dashboard (issue 10) in a real headless Chromium against a real
 * `tether start` (ports 0, SQLite in a temp dir): users and roles, API keys, the audit log and
 * metadata history, bulk actions, export/import, metadata filters, the live-feed indicator across a
 * server restart, and no horizontal overflow at 390 px on any page.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from '../helpers/test.js';
import type { Page } from 'playwright-core';
import { DashboardHarness, DESKTOP, PASSWORD, shootBothWidths } from './harness.js';
import { waitFor } from '../helpers/wait.js';

const VERSION = 'demo_application_v1';
const APP = 'demo_application';

let harness: DashboardHarness;

before(async () => {
  harness = await DashboardHarness.start();
});

after(async () => {
  await harness?.close();
});

/** Downloads are part of export; a 10 s default keeps a missing element from eating the test's time. */
const openPage = () => harness.openPage(DESKTOP, { acceptDownloads: true, timeoutMs: 10_000 });
const start = () => harness.startTether();

async function signIn(page: Page, username = 'admin', password = PASSWORD): Promise<void> {
  await harness.signIn(page, { username, password });
  await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
}

/** Screenshots at desktop and phone width, checking control names and the phone layout for overflow; back to desktop. */
const shoot = (page: Page, name: string) => shootBothWidths(page, name, 'phone');

const rows = (page: Page) => page.locator('tbody tr[data-endpoint-id]');

// The browser tests here take { timeout: 120_000 }, longer than the 30 s default: each drives headless
// Chromium through several pages of a whole Tether, which takes tens of seconds on a shared machine.
test('search covers every metadata value, metadata filters narrow the list, and pages fit 390 px', { timeout: 120_000 }, async () => {
  const { registry } = harness.tether.services;
  for (let i = 1; i <= 3; i++) {
    await registry.createEndpoint({
      appVersionName: VERSION,
      endpointId: `meter-${i}`,
      metadata: { model: i === 3 ? 'A310' : 'A300', site: `Building ${i}`, serial: `SN-00${i}`, ...(i === 1 ? { note: 'a very long note without any spaces: ' + 'x'.repeat(120) } : {}) },
    });
  }
  const { page, problems } = await openPage();
  await signIn(page);
  await waitFor('three endpoints', async () => (await rows(page).count()) === 3, 10_000);

  // `serial` is no column, yet search finds it.
  await page.getByRole('searchbox', { name: 'Search' }).fill('sn-002');
  await waitFor('search in a hidden metadata key', async () => (await rows(page).count()) === 1 && (await rows(page).first().getAttribute('data-endpoint-id')) === 'meter-2', 10_000);
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await waitFor('search cleared', async () => (await rows(page).count()) === 3, 10_000);

  // A filter on any key: model equals A300, then site contains "3" on top finds none.
  await page.getByRole('button', { name: 'Filter by metadata…' }).click();
  const form = page.getByRole('form', { name: 'Add a metadata filter' });
  await form.getByLabel('Metadata key').fill('model');
  await form.getByLabel('Condition').selectOption('equals');
  await form.getByLabel('Value').fill('A300');
  await form.getByRole('button', { name: 'Add filter' }).click();
  await waitFor('the model filter', async () => (await rows(page).count()) === 2, 10_000);
  assert.match(page.url(), /[?&]f=model%3DA300/);
  await shoot(page, 'list-filtered');
  await form.getByLabel('Metadata key').fill('site');
  await form.getByLabel('Condition').selectOption('contains');
  await form.getByLabel('Value').fill('3');
  await form.getByRole('button', { name: 'Add filter' }).click();
  await waitFor('both filters', async () => (await page.getByText('No endpoints match.').count()) === 1, 10_000);
  await page.getByRole('button', { name: /^Remove filter model equals A300/ }).click();
  await waitFor('one filter left', async () => (await rows(page).count()) === 1, 10_000);
  await page.getByRole('button', { name: /^Remove filter site contains 3/ }).click();
  await waitFor('no filters', async () => (await rows(page).count()) === 3, 10_000);

  // The export link follows the filters on screen.
  await page.getByRole('searchbox', { name: 'Search' }).fill('A310');
  await waitFor('search', async () => (await rows(page).count()) === 1, 10_000);
  const csv = await page.evaluate(async (url) => (await fetch(url)).text(), (await page.getByTestId('export-csv').getAttribute('href')) ?? '');
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines.length, 2, `one endpoint exported:\n${csv}`);
  assert.match(lines[0] ?? '', /^endpointId,/);
  assert.match(lines[1] ?? '', /^meter-3,/);
  await page.getByRole('searchbox', { name: 'Search' }).fill('');

  // The endpoint page, with the long value, fits the phone too.
  await page.locator('tr[data-endpoint-id="meter-1"]').click();
  await page.getByTestId('endpoint-id').filter({ hasText: 'meter-1' }).waitFor();
  await shoot(page, 'endpoint-page-long-value');
  assert.deepEqual(problems, []);
});


/** A REST call from inside the page: the browser's own session cookie and origin. */
async function fetchInPage(page: Page, method: string, url: string, body?: unknown): Promise<{ status: number; code?: string; message?: string }> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      const parsed = text ? (JSON.parse(text) as { code?: string; message?: string }) : {};
      return { status: response.status, code: parsed.code, message: parsed.message };
    },
    { method, url, body },
  );
}

async function openSection(page: Page, name: 'Users' | 'API keys' | 'Audit log'): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { name: name === 'Audit log' ? 'Audit log' : name, exact: true, level: 1 }).waitFor();
}

test('an admin adds a viewer; the viewer sees no write buttons, the API refuses its writes, it changes its own password', { timeout: 120_000 }, async () => {
  const admin = await openPage();
  // The sign-in page says how to get in and how to recover, and fits a phone.
  await admin.page.goto(harness.base);
  assert.match((await admin.page.getByTestId('sign-in-hint').textContent()) ?? '', /npx tether admin reset-password/);
  await shoot(admin.page, 'sign-in');
  await signIn(admin.page);

  await openSection(admin.page, 'Users');
  const create = admin.page.getByRole('form', { name: 'Add a user' });
  await create.getByLabel('Username').fill('vera');
  await create.getByLabel('Role').selectOption('viewer');
  await create.getByRole('textbox', { name: 'Initial password' }).fill('vera-initial-1');
  await create.getByRole('button', { name: 'Add user' }).click();
  await admin.page.locator('tr[data-username="vera"]').waitFor();
  await create.getByLabel('Username').fill('otto');
  await create.getByLabel('Role').selectOption('viewer');
  await create.getByRole('button', { name: 'Generate' }).click();
  assert.ok((await create.getByRole('textbox', { name: 'Initial password' }).inputValue()).length >= 16);
  await create.getByRole('button', { name: 'Add user' }).click();
  await admin.page.locator('tr[data-username="otto"]').waitFor();

  // Change a role, reset a password, delete: each over the REST API the page calls.
  await admin.page.getByLabel('Role of otto').selectOption('operator');
  await waitFor('otto to be an operator', async () => {
    const users = (await admin.page.evaluate(async () => (await fetch('/api/v1/users')).json())) as Array<{ username: string; role: string }>;
    return users.find((u) => u.username === 'otto')?.role === 'operator';
  }, 10_000);
  await admin.page.getByRole('button', { name: 'Reset password of otto' }).click();
  const reset = admin.page.getByRole('dialog', { name: 'Reset the password of otto' });
  await reset.getByLabel('New password').fill('otto-second-pw');
  await reset.getByRole('button', { name: 'Set password' }).click();
  await reset.getByText(/password is changed/).waitFor();
  await reset.getByRole('button', { name: 'Done' }).click();
  await shoot(admin.page, 'users');
  await admin.page.getByRole('button', { name: 'Delete user otto' }).click();
  await admin.page.getByRole('dialog', { name: 'Delete user otto?' }).getByRole('button', { name: 'Delete user' }).click();
  await waitFor('otto to go', async () => (await admin.page.locator('tr[data-username="otto"]').count()) === 0, 10_000);

  // The viewer: reads everything it may, finds no write control anywhere.
  const viewer = await openPage();
  await signIn(viewer.page, 'vera', 'vera-initial-1');
  await waitFor('the list', async () => (await rows(viewer.page).count()) > 0, 10_000);
  for (const name of ['Add endpoint', 'Import CSV…', 'Configure columns', 'Edit creation form']) {
    assert.equal(await viewer.page.getByRole('button', { name }).count(), 0, `a viewer sees no "${name}"`);
  }
  assert.equal(await viewer.page.getByRole('checkbox').count(), 0, 'a viewer has no bulk selection');
  assert.deepEqual(await viewer.page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents(), ['Endpoints', 'Software', 'API reference'], 'a viewer has no admin sections');
  assert.equal(await viewer.page.getByTestId('export-csv').count(), 1, 'a viewer may export');
  await shoot(viewer.page, 'viewer-list');
  await viewer.page.locator('tr[data-endpoint-id="meter-1"]').click();
  await viewer.page.getByTestId('endpoint-id').filter({ hasText: 'meter-1' }).waitFor();
  await viewer.page.getByTestId('metadata-table').waitFor();
  for (const name of ['Issue new token', 'Delete endpoint…', 'Add key', 'Edit model', /^Suspend token/, /^Revoke token/]) {
    assert.equal(await viewer.page.getByRole('button', { name }).count(), 0, `a viewer sees no "${String(name)}"`);
  }
  await shoot(viewer.page, 'viewer-endpoint-page');

  // The API refuses the viewer's writes whatever the UI shows.
  const createAttempt = await fetchInPage(viewer.page, 'POST', '/epr/api/v1/endpoints', { appVersion: { name: VERSION }, metadata: {} });
  assert.equal(createAttempt.status, 403);
  assert.equal(createAttempt.code, 'FORBIDDEN');
  assert.match(createAttempt.message ?? '', /operator/);
  assert.equal((await fetchInPage(viewer.page, 'DELETE', '/epr/api/v1/endpoints/meter-1')).status, 403);
  assert.equal((await fetchInPage(viewer.page, 'GET', '/api/v1/users')).status, 403);
  await harness.tether.services.registry.getEndpoint('meter-1', false);

  // The viewer changes its own password, then signs in with it.
  await viewer.page.getByRole('button', { name: /^Signed in as vera/ }).click();
  const account = viewer.page.getByRole('dialog', { name: 'Your account' });
  await account.getByLabel('Current password').fill('vera-initial-1');
  await account.getByLabel('New password', { exact: true }).fill('vera-own-pass-2');
  await account.getByLabel('New password again').fill('vera-own-pass-2');
  await shoot(viewer.page, 'account-dialog');
  await account.getByRole('button', { name: 'Change password' }).click();
  await account.getByText('Your password is changed.').waitFor();
  await account.getByRole('button', { name: 'Done' }).click();
  await viewer.page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(viewer.page, 'vera', 'vera-own-pass-2');

  const provoked = /^console: Failed to load resource: the server responded with a status of 403/;
  assert.deepEqual(viewer.problems.filter((p) => !provoked.test(p)), []);
  assert.deepEqual(admin.problems, []);
});

test('an operator may change endpoints but not shared settings, users, keys or the audit log', { timeout: 120_000 }, async () => {
  const admin = await fetch(`${harness.base}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${harness.tether.adminApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'olga', role: 'operator', password: 'olga-password-1' }),
  });
  assert.equal(admin.status, 201);
  const { page, problems } = await openPage();
  await signIn(page, 'olga', 'olga-password-1');
  await waitFor('the list', async () => (await rows(page).count()) > 0, 10_000);
  for (const name of ['Add endpoint', 'Import CSV…']) assert.equal(await page.getByRole('button', { name }).count(), 1, `an operator sees "${name}"`);
  for (const name of ['Configure columns', 'Edit creation form']) assert.equal(await page.getByRole('button', { name }).count(), 0, `an operator sees no "${name}"`);
  assert.ok((await page.getByRole('checkbox').count()) > 1, 'an operator selects endpoints for bulk actions');
  assert.deepEqual(await page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents(), ['Endpoints', 'Software', 'API reference']);
  await page.goto(`${harness.base}/audit`);
  await page.getByRole('alert').filter({ hasText: 'needs the admin role' }).waitFor();
  assert.equal((await fetchInPage(page, 'GET', '/api/v1/audit')).status, 403);
  assert.equal((await fetchInPage(page, 'PUT', `/dashboard/api/applications/${APP}/widget`, { columns: [], pageSize: 20 })).status, 403);
  assert.deepEqual(problems.filter((p) => !/status of 403/.test(p)), []);
});

test('API keys: created with a role and shown once, listed with last use, revoked', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  await signIn(page);
  await openSection(page, 'API keys');
  const form = page.getByRole('form', { name: 'Create an API key' });
  await form.getByLabel('Name').fill('ci-import');
  await form.getByLabel('Role').selectOption('operator');
  await form.getByRole('button', { name: 'Create key' }).click();
  const created = page.getByRole('dialog', { name: 'API key created' });
  const key = await created.getByTestId('new-api-key').inputValue();
  assert.ok(key.length >= 20, `key ${key}`);
  await shoot(page, 'api-key-created');
  await created.getByRole('button', { name: 'Done' }).click();

  const call = (k: string) => fetch(`${harness.base}/epr/api/v1/endpoints?applicationName=${APP}`, { headers: { authorization: `Bearer ${k}` } });
  assert.equal((await call(key)).status, 200);
  await page.reload();
  const row = page.getByTestId('api-keys-table').locator('tbody tr').filter({ hasText: 'ci-import' });
  await waitFor('the last use', async () => !((await row.locator('td[data-label="Last used"]').textContent()) ?? 'never').includes('never'), 10_000);
  assert.equal(await page.getByText(key).count(), 0, 'the key is not shown again');
  await shoot(page, 'api-keys');

  await row.getByRole('button', { name: 'Revoke API key ci-import' }).click();
  await page.getByRole('dialog', { name: 'Revoke API key ci-import?' }).getByRole('button', { name: 'Revoke key' }).click();
  await waitFor('revoked', async () => (await row.locator('.status').textContent()) === 'REVOKED', 10_000);
  assert.equal((await call(key)).status, 401);
  assert.deepEqual(problems, []);
});

test('bulk actions on selected endpoints, and a CSV import whose tokens download once', { timeout: 120_000 }, async () => {
  await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION, endpointId: 'to-delete', metadata: {} });
  const { page, problems } = await openPage();
  await signIn(page);
  await waitFor('the list', async () => (await rows(page).count()) >= 4, 10_000);

  await page.getByLabel('Select meter-1').check();
  await page.getByLabel('Select meter-2').check();
  assert.equal(await page.getByTestId('bulk-count').textContent(), '2 endpoints selected');
  await page.getByRole('button', { name: 'Set metadata…' }).click();
  const set = page.getByRole('dialog', { name: 'Set a metadata key on the selected endpoints' });
  await set.getByLabel('Metadata key').fill('floor');
  await set.getByLabel('Value', { exact: true }).fill('3');
  await set.getByLabel(/Value is JSON/).check();
  await shoot(page, 'bulk-set-metadata');
  await set.getByRole('button', { name: 'Set key on 2 endpoints' }).click();
  await page.getByTestId('bulk-result').waitFor();
  for (const id of ['meter-1', 'meter-2']) assert.equal((await harness.tether.services.registry.getMetadata(id, 'operator')).floor, 3);
  assert.equal((await harness.tether.services.registry.getMetadata('meter-3', 'operator')).floor, undefined);

  // Select the page, then suspend every token, after confirming.
  await page.getByLabel('Select all endpoints on this page').check();
  const count = await rows(page).count();
  assert.equal(await page.getByTestId('bulk-count').textContent(), `${count} endpoints selected`);
  await page.getByRole('button', { name: 'Suspend tokens…' }).click();
  await page.getByRole('dialog', { name: 'Suspend the tokens of the selected endpoints?' }).getByRole('button', { name: `Suspend tokens of ${count} endpoints` }).click();
  await waitFor('the selection to clear', async () => (await page.getByTestId('bulk-count').count()) === 0, 10_000);
  const tokens = await harness.tether.services.credentials.listTokens('meter-3');
  assert.ok(tokens.length > 0 && tokens.every((t) => t.status === 'SUSPENDED'), JSON.stringify(tokens));

  // Delete one.
  await page.getByLabel('Select to-delete').check();
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('dialog', { name: 'Delete the selected endpoints?' }).getByRole('button', { name: 'Delete 1 endpoint' }).click();
  await waitFor('the row to go', async () => (await page.locator('tr[data-endpoint-id="to-delete"]').count()) === 0, 10_000);
  await assert.rejects(harness.tether.services.registry.getEndpoint('to-delete', false), { code: 'ENDPOINT_NOT_FOUND' });

  // Import: two new endpoints and one taken ID; the tokens leave as a one-time CSV download.
  await page.getByRole('button', { name: 'Import CSV…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Import endpoints from CSV' });
  await dialog.getByLabel('CSV file').setInputFiles({
    name: 'fleet.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('endpointId,metadata.model,metadata.site\r\nimp-1,I1,Dock\r\nimp-2,I2,Dock\r\nmeter-1,dup,x\r\n'),
  });
  await dialog.getByRole('button', { name: 'Import' }).click();
  const result = page.getByRole('dialog', { name: 'Import finished' });
  await result.getByTestId('import-result').waitFor();
  assert.match((await result.getByTestId('import-result').textContent()) ?? '', /Created 2 endpoints\. 1 line was refused/);
  await shoot(page, 'import-result');
  const [download] = await Promise.all([page.waitForEvent('download'), result.getByTestId('tokens-download').click()]);
  const file = await download.path();
  const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  assert.equal(lines[0], 'endpointId,token');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]).sort(), ['imp-1', 'imp-2']);
  assert.ok(lines.slice(1).every((l) => (l.split(',')[1] ?? '').length >= 16));
  assert.deepEqual(await harness.tether.services.registry.getMetadata('imp-1', 'operator'), { model: 'I1', site: 'Dock' });
  await result.getByRole('button', { name: 'Done' }).click();
  await waitFor('imported rows', async () => (await page.locator('tr[data-endpoint-id="imp-2"]').count()) === 1, 10_000);
  assert.deepEqual(problems, []);
});

test('a bulk action covers every endpoint the filters match, beyond the page, once asked to', { timeout: 120_000 }, async () => {
  // An application of its own: 25 endpoints, more than a page of 20.
  const { applications, registry } = harness.tether.services;
  await applications.createApplication({ name: 'fleet_app' });
  await applications.createVersion({ applicationName: 'fleet_app', name: 'fleet_app_v1', extensions: ['epmx'] });
  for (let i = 0; i < 25; i++) await registry.createEndpoint({ appVersionName: 'fleet_app_v1', endpointId: `fleet-${String(i).padStart(2, '0')}`, metadata: { site: i < 23 ? 'north' : 'south' } });
  const { page, problems } = await openPage();
  await harness.signIn(page, { url: `${harness.base}/?app=fleet_app`, username: 'admin' });
  await waitFor('a full page', async () => (await rows(page).count()) === 20, 10_000);

  // Selecting the whole page offers the rest of what the filters match.
  await page.getByLabel('Select all endpoints on this page').check();
  await page.getByRole('button', { name: 'Select all 25 matching endpoints' }).click();
  await waitFor('all 25 selected', async () => (await page.getByTestId('bulk-count').textContent()) === '25 endpoints selected', 10_000);
  await shoot(page, 'bulk-select-all-matching');
  await page.getByRole('button', { name: 'Set metadata…' }).click();
  const set = page.getByRole('dialog', { name: 'Set a metadata key on the selected endpoints' });
  await set.getByLabel('Metadata key').fill('batch');
  await set.getByLabel('Value', { exact: true }).fill('spring');
  await set.getByRole('button', { name: 'Set key on 25 endpoints' }).click();
  await page.getByTestId('bulk-result').waitFor();
  assert.match((await page.getByTestId('bulk-result').textContent()) ?? '', /Set the key on 25 endpoints\./);
  for (let i = 0; i < 25; i++) assert.equal((await registry.getMetadata(`fleet-${String(i).padStart(2, '0')}`, 'operator')).batch, 'spring');
  assert.deepEqual(problems, []);
});

test('the audit log lists and filters changes; an endpoint page shows its metadata history', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  await signIn(page);
  // A device report (data, not audit) and an operator edit in the dashboard.
  await harness.tether.services.registry.changeMetadata('meter-2', { kind: 'merge', metadata: { firmware: '1.0.1' } }, 'device');
  await page.goto(`${harness.base}/endpoints/meter-2?app=${APP}`);
  await page.getByTestId('metadata-table').waitFor();
  await page.getByLabel('New key').fill('room');
  await page.getByLabel('Value', { exact: true }).fill('B12');
  await page.getByRole('button', { name: 'Add key' }).click();
  await waitFor('the new key', async () => (await page.getByTestId('metadata-table').locator('tr[data-key="room"] td.value').textContent()) === 'B12', 10_000);
  await page.getByRole('button', { name: 'Show history' }).click();
  const history = page.getByTestId('metadata-history');
  await waitFor('the history', async () => (await history.locator('li').count()) >= 2, 10_000);
  assert.match((await history.locator('> li').first().textContent()) ?? '', /Operator.*room.*B12/s);
  assert.ok((await history.textContent())?.includes('firmware'), 'the device report is in the history');
  await shoot(page, 'metadata-history');

  await openSection(page, 'Audit log');
  const table = page.getByTestId('audit-table');
  await waitFor('entries', async () => (await table.locator('tbody tr').count()) > 3, 10_000);
  const actions = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
  for (const action of ['metadata.update', 'user.create', 'api-key.create', 'endpoints.import', 'bulk.delete']) assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
  await shoot(page, 'audit');

  // Filter by endpoint: only its entries; the operator's edit shows before/after.
  const filters = page.getByRole('search', { name: 'Filter the audit log' });
  await filters.getByLabel('Endpoint ID').fill('meter-2');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await waitFor('the endpoint filter', async () => {
    const targets = await table.locator('tbody td[data-label="Target"]').allTextContents();
    return targets.length > 0 && targets.every((t) => t === 'meter-2');
  }, 10_000);
  assert.match((await table.locator('tbody tr[data-action="metadata.update"]').first().textContent()) ?? '', /room.*B12/s);
  assert.ok(!((await table.textContent()) ?? '').includes('firmware: (none) → 1.0.1'), 'the device report is no audit entry');
  // By user, and by a time range in the future: nothing.
  await filters.getByLabel('Endpoint ID').fill('');
  await filters.getByLabel('User or key').fill('vera');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await waitFor('the user filter', async () => {
    const who = await table.locator('tbody td[data-label="Who"] strong').allTextContents();
    return who.length > 0 && who.every((w) => w === 'vera');
  }, 10_000);
  await filters.getByLabel('User or key').fill('');
  await filters.getByLabel('From').fill('2099-01-01T00:00');
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('No entries match.').waitFor();
  assert.match(page.url(), /from=2099/);
  assert.deepEqual(problems, []);
});

test('the live-feed indicator shows a stopped feed and reconnects by itself after a restart', { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  await signIn(page);
  const indicator = page.getByTestId('live-indicator');
  await waitFor('the feed to be live', async () => (await indicator.getAttribute('data-state')) === 'live', 10_000);

  await harness.tether.stop();
  await waitFor('the indicator to say the feed is down', async () => (await indicator.getAttribute('data-state')) === 'down', 15_000);
  assert.match((await indicator.textContent()) ?? '', /Live updates stopped.*out of date/);
  await shoot(page, 'live-feed-down');

  // Same port, same data: the page reconnects without a reload and catches up.
  await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
  await start();
  await harness.tether.services.registry.createEndpoint({ appVersionName: VERSION, endpointId: 'after-restart', metadata: { model: 'R1' } });
  await waitFor('the feed to be live again', async () => (await indicator.getAttribute('data-state')) === 'live', 20_000);
  await waitFor('the endpoint created during the outage', async () => (await page.locator('tr[data-endpoint-id="after-restart"]').count()) === 1, 10_000);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);

  // A stream refused with an HTTP error (as a proxy answers while the server restarts) makes the
  // browser give up for good: the dashboard retries by itself with a countdown.
  await page.route('**/dashboard/api/events?*', (route) => route.fulfill({ status: 502, body: 'Bad Gateway' }));
  await harness.tether.stop();
  await start();
  await waitFor('a countdown to the next attempt', async () => /retrying in \d+ s/.test((await indicator.textContent()) ?? ''), 15_000);
  await page.unroute('**/dashboard/api/events?*');
  await waitFor('the feed to be live after the refusals', async () => (await indicator.getAttribute('data-state')) === 'live', 20_000);
  assert.equal(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument), true);

  // A session that ended (here: signed out by another tab) refuses the stream for good: the page goes
  // to the sign-in form rather than retrying forever.
  assert.equal((await fetchInPage(page, 'POST', '/dashboard/api/sign-out')).status, 204);
  await harness.tether.stop();
  await start();
  await page.getByRole('heading', { name: 'Sign in to Tether' }).waitFor({ timeout: 20_000 });
  // The browser logs the refused reconnection attempts while the server was down; nothing else.
  assert.deepEqual(problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource|EventSource|502|401/.test(p)), []);
});
