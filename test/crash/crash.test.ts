/**
 * Crash safety of the real `tether start` process: an acknowledged update (PUBACK or `/status`) is a
 * committed update, whether the process is killed on the spot (SIGKILL) or stopped (SIGTERM), and
 * the SQLite file is consistent after either.
 */
import { test } from '../helpers/test.js';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Metadata } from '../../src/core/types.js';
import { indexRowOf } from '../../src/storage/rows/metadata.js';
import { FIRST_SEQ, api, createDevices, startServer, startTraffic, updateOf } from './harness.js';
import type { Device, ServerProcess } from './harness.js';
import { waitFor } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';

const DEVICES = 40;
/** QoS 1 updates each device keeps in flight: the kill always lands among uncommitted writes. */
const WINDOW = 8;
/** Traffic per round before the kill: this many PUBACKs, or ROUND_MS, whichever comes first. */
const ACKS_PER_ROUND = 1500;
const ROUND_MS = 2000;
/** Generous: only a server that stopped answering would need it. */
const FIRST_ACKS_DEADLINE_MS = 20_000;
/**
 * One kill per entry, all on the same data directory, each round's server in the given mode:
 * FULL must survive power loss, NORMAL at least a process crash, which is what SIGKILL is.
 */
const ROUNDS: Array<'full' | 'normal'> = ['full', 'normal', 'full'];

function syncFlags(mode: 'full' | 'normal'): string[] {
  return ['--sqlite-synchronous', mode];
}

/**
 * What one device's metadata must be, checked against what is stored. `model` is the state verified
 * after the previous restart and `roundStart` the first request ID sent since. Updates of one device
 * are applied in order, so the stored state is `model` plus a prefix of this round's updates: at
 * least up to everything acknowledged, at most up to the last one sent, and never half an update.
 */
function verifyDevice(device: Device, stored: Metadata | undefined, model: Metadata, roundStart: number): Metadata {
  const who = `endpoint ${device.endpointId}`;
  assert.ok(stored !== undefined, `${who} is missing`);
  const seq = stored['seq'] === undefined ? 0 : stored['seq'];
  const modelSeq = model['seq'] === undefined ? 0 : model['seq'];
  assert.equal(typeof seq, 'number', `${who}: seq ${JSON.stringify(seq)}`);
  assert.ok((seq as number) >= device.acked, `${who}: stored seq ${String(seq)}, but seq ${device.acked} got a PUBACK`);
  assert.ok((seq as number) >= device.statusReplied, `${who}: stored seq ${String(seq)}, but seq ${device.statusReplied} got a /status reply`);
  assert.ok((seq as number) <= device.lastSent, `${who}: stored seq ${String(seq)} was never sent (last ${device.lastSent})`);
  assert.ok(seq === modelSeq || (seq as number) >= roundStart, `${who}: stored seq ${String(seq)} is older than the verified ${String(modelSeq)}`);
  const expected: Metadata = { ...model };
  for (let k = roundStart; k <= (seq as number); k++) Object.assign(expected, updateOf(k));
  assert.deepEqual(stored, expected, `${who}: the stored document is not the acknowledged updates applied in order`);
  assert.deepEqual(device.errors, [], `${who}: /error replies`);
  return stored;
}

interface EndpointRow {
  seq: number;
  endpoint_id: string;
  application_name: string;
  metadata: string;
}

interface IndexRow {
  endpoint_seq: number;
  key: string;
  application_name: string;
  canon: string;
  sort_value: number | string | null;
  search_text: string;
}

/**
 * Opens the database file read-only (no recovery is written, no checkpoint runs) and checks that it
 * is intact (including the FTS5 search index, which integrity_check covers), that no row lost its
 * parent, that every endpoint's per-key index rows agree with its JSON document and that the
 * per-application endpoint counts agree with the endpoints. Returns each endpoint's stored metadata.
 */
function checkDatabase(file: string): Map<string, Metadata> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    assert.deepEqual(db.pragma('foreign_key_check'), []);

    const endpoints = db.prepare('SELECT seq, endpoint_id, application_name, metadata FROM endpoints').all() as EndpointRow[];
    const indexRows = db
      .prepare('SELECT endpoint_seq, key, application_name, canon, sort_value, search_text FROM endpoint_metadata ORDER BY endpoint_seq, key')
      .all() as IndexRow[];
    const rowsOf = new Map<number, IndexRow[]>();
    for (const row of indexRows) rowsOf.set(row.endpoint_seq, [...(rowsOf.get(row.endpoint_seq) ?? []), row]);

    const docs = new Map<string, Metadata>();
    for (const e of endpoints) {
      const doc = JSON.parse(e.metadata) as Metadata;
      docs.set(e.endpoint_id, doc);
      const expectedRows = Object.keys(doc)
        .sort()
        .map((key) => {
          const index = indexRowOf(doc[key]!);
          return { endpoint_seq: e.seq, key, application_name: e.application_name, canon: index.canon, sort_value: index.sortValue, search_text: index.searchText };
        });
      assert.deepEqual(rowsOf.get(e.seq) ?? [], expectedRows, `index rows of ${e.endpoint_id} match its document ${e.metadata}`);
      rowsOf.delete(e.seq);
    }
    assert.deepEqual([...rowsOf.keys()], [], 'index rows without an endpoint');

    const counted = db.prepare('SELECT application_name, connected, count(*) AS n FROM endpoints GROUP BY 1, 2 ORDER BY 1, 2').all();
    const kept = db.prepare('SELECT application_name, connected, n FROM endpoint_counts WHERE n <> 0 ORDER BY 1, 2').all();
    assert.deepEqual(kept, counted, 'endpoint_counts');
    return docs;
  } finally {
    db.close();
  }
}

/**
 * The substring search (a derived index written in the same transactions) agrees with the stored
 * documents: for each device, searching for its current `seq` in `seq` and in the key that update
 * wrote finds exactly the endpoints whose values contain that text.
 */
async function checkSearch(server: ServerProcess, docs: Map<string, Metadata>): Promise<void> {
  for (const doc of docs.values()) {
    if (typeof doc['seq'] !== 'number') continue;
    const needle = String(doc['seq']);
    const key = `d${doc['seq'] % 5}`;
    const expected = [...docs].filter(([, d]) => String(d['seq']).includes(needle) && d[key] !== undefined && String(d[key]).includes(needle)).map(([id]) => id);
    const query = `filter=${encodeURIComponent(`seq~${needle}`)}&filter=${encodeURIComponent(`${key}~${needle}`)}&limit=1000`;
    const page = await api<EndpointPage>(server, 'GET', `/epr/api/v1/endpoints?${query}`);
    assert.deepEqual(page.content.map((e) => e.endpointId).sort(), expected.sort(), `search for ${needle} in seq and ${key}`);
  }
}

interface EndpointPage {
  totalElements: number;
  content: Array<{ endpointId: string; connected: boolean; metadata?: Metadata }>;
}

/** Every endpoint with its metadata, over REST. */
async function listEndpoints(server: ServerProcess): Promise<Map<string, { connected: boolean; metadata?: Metadata }>> {
  const page = await api<EndpointPage>(server, 'GET', '/epr/api/v1/endpoints?include=metadata&limit=1000');
  assert.equal(page.totalElements, DEVICES);
  return new Map(page.content.map((e) => [e.endpointId, e]));
}

/** Runs traffic until the round's budget is spent; resolves with the publishes still in flight then. */
async function runRound(devices: Device[], server: ServerProcess) {
  const traffic = await startTraffic(devices, server.mqttPort, WINDOW);
  try {
    await waitFor('every device to get updates acknowledged', () => traffic.allAcked(), FIRST_ACKS_DEADLINE_MS);
    // The round ends at its count of acks or at its time budget, whichever comes first: a slow machine is not a failure here.
    await waitFor(`${ACKS_PER_ROUND} acks`, () => traffic.acks >= ACKS_PER_ROUND, ROUND_MS).catch(() => {});
    return { traffic, acks: traffic.acks, inflight: traffic.inflight() };
  } catch (err) {
    await traffic.stop();
    throw err;
  }
}

// Longer than the 30 s default: three rounds of load, each ended by SIGKILL and followed by a restart.
test('SIGKILL under load, three times on one data dir: every acknowledged update is stored, the database stays consistent', { timeout: 180_000 }, async (t) => {
  const dataDir = tempDir(t, 'tether-crash-');
  const dbFile = path.join(dataDir, 'tether.db');
  let server = await startServer(t, dataDir, syncFlags(ROUNDS[0]!));
  const devices = await createDevices(server, DEVICES);
  const models = new Map<Device, Metadata>(devices.map((d) => [d, {}]));

  for (let round = 0; round < ROUNDS.length; round++) {
    const roundStart = new Map(devices.map((d) => [d, d.lastSent + 1]));
    const { traffic, acks, inflight } = await runRound(devices, server);
    // Killed while the clients keep publishing: writes are queued, committing and being acknowledged.
    process.kill(server.child.pid!, 'SIGKILL');
    const exit = await server.exited;
    await traffic.stop();
    assert.equal(exit.signal, 'SIGKILL', server.output());
    assert.ok(acks > 0 && inflight > 0, `round ${round}: killed under load (${acks} acknowledged, ${inflight} in flight)`);
    t.diagnostic(`round ${round} (${ROUNDS[round]}): SIGKILL after ${acks} PUBACKs with ${inflight} updates in flight`);

    // The file exactly as the crash left it (WAL included), before a new server recovers it.
    const crashed = checkDatabase(dbFile);

    server = await startServer(t, dataDir, syncFlags(ROUNDS[round + 1] ?? 'full'));
    const listed = await listEndpoints(server);
    for (const device of devices) {
      const endpoint = listed.get(device.endpointId);
      assert.ok(endpoint, `endpoint ${device.endpointId} is listed`);
      // 9/ELCE: no session survives a crash, so nothing is connected before devices come back.
      assert.equal(endpoint.connected, false, `endpoint ${device.endpointId} is not connected after the restart`);
      const verified = verifyDevice(device, endpoint.metadata, models.get(device)!, roundStart.get(device)!);
      assert.deepEqual(crashed.get(device.endpointId), verified, 'the restarted server serves what the file held');
      models.set(device, verified);
    }
    await checkSearch(server, crashed);
  }

  server.child.kill('SIGTERM');
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.output());
  const docs = checkDatabase(dbFile);
  for (const device of devices) assert.deepEqual(docs.get(device.endpointId), models.get(device));
});

// Longer than the 30 s default: a round of load, a graceful stop and a restart of a Tether process.
test('SIGTERM under load: the server exits 0 and every acknowledged update is stored', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t, 'tether-crash-');
  const server = await startServer(t, dataDir);
  const devices = await createDevices(server, DEVICES);

  const { traffic, acks, inflight } = await runRound(devices, server);
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  await traffic.stop();
  assert.equal(exit.code, 0, server.output());
  assert.match(server.output(), /Stopped\./);
  assert.ok(acks > 0 && inflight > 0, `stopped under load (${acks} acknowledged, ${inflight} in flight)`);
  t.diagnostic(`SIGTERM after ${acks} PUBACKs with ${inflight} updates in flight`);

  const docs = checkDatabase(path.join(dataDir, 'tether.db'));
  for (const device of devices) verifyDevice(device, docs.get(device.endpointId), {}, FIRST_SEQ);
});
