import type pg from 'pg';
import type { EndpointSoftware } from '../../core/software.js';
import { ENDPOINT_COLUMNS, type EndpointRow, HISTORY_PER_ENDPOINT, applyReport, endpointParams, toEndpointSoftware } from '../software-rows.js';
import type { SoftwareOffer, SoftwareReport } from '../software.js';
import { isConnectionError } from './constraint-errors.js';
import { GroupCommit } from './group-commit.js';
import type { StorePool } from './store-pool.js';

type Write = { kind: 'reports'; reports: readonly SoftwareReport[] } | { kind: 'offers'; offers: readonly SoftwareOffer[] };

interface Pending {
  write: Write;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for what a rollout causes: offers to a fleet and the fleet's reports. A 10,000-device
 * rollout becomes a few transactions of one set-based statement per kind (as control-writes.ts).
 * Each caller's promise settles after COMMIT; should a batch fail for a reason other than the
 * connection, its writes are retried one by one, so only the failing one rejects.
 */
export class SoftwareWriter {
  private readonly commits = new GroupCommit<Pending>((batch) => this.commit(batch));

  constructor(private readonly db: StorePool) {}

  reports(reports: readonly SoftwareReport[]): Promise<void> {
    return this.enqueue({ kind: 'reports', reports });
  }

  offers(offers: readonly SoftwareOffer[]): Promise<void> {
    return this.enqueue({ kind: 'offers', offers });
  }

  flush(): Promise<void> {
    return this.commits.flush();
  }

  private enqueue(write: Write): Promise<void> {
    return new Promise((resolve, reject) => this.commits.add({ write, resolve: resolve as (value: unknown) => void, reject }));
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.db.transaction((client) => applyAll(client, batch));
    } catch (err) {
      if (batch.length === 1 || isUnavailable(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (const p of batch) {
        try {
          await this.db.transaction((client) => applyAll(client, [p]));
          p.resolve(undefined);
        } catch (alone) {
          p.reject(alone);
        }
      }
      return;
    }
    for (const p of batch) p.resolve(undefined);
  }
}

function isUnavailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'UNAVAILABLE' || isConnectionError(err);
}

/** Runs of one kind become one set of statements; runs apply in the order their writes were made. */
async function applyAll(client: pg.PoolClient, batch: Pending[]): Promise<void> {
  let start = 0;
  while (start < batch.length) {
    const kind = batch[start]!.write.kind;
    let end = start;
    while (end < batch.length && batch[end]!.write.kind === kind) end++;
    const run = batch.slice(start, end).map((p) => p.write);
    if (kind === 'reports') await recordReports(client, run.flatMap((w) => (w as Extract<Write, { kind: 'reports' }>).reports));
    else await putOffers(client, run.flatMap((w) => (w as Extract<Write, { kind: 'offers' }>).offers));
    start = end;
  }
}

export async function putOffers(client: Pick<pg.PoolClient, 'query'>, offers: readonly SoftwareOffer[]): Promise<void> {
  // One INSERT may not touch a row twice: the last offer to an endpoint wins, as one by one.
  const byEndpoint = new Map<string, SoftwareOffer>();
  for (const o of offers) byEndpoint.set(o.endpointId, o);
  if (byEndpoint.size === 0) return;
  const rows = [...byEndpoint.values()];
  await client.query(
    `INSERT INTO software_offers (endpoint_id, application_name, version, rollout_id, offered_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT (endpoint_id) DO UPDATE SET application_name = excluded.application_name, version = excluded.version,
       rollout_id = excluded.rollout_id, offered_at = excluded.offered_at`,
    [rows.map((o) => o.endpointId), rows.map((o) => o.applicationName), rows.map((o) => o.version), rows.map((o) => o.rolloutId), rows.map((o) => o.offeredAt)],
  );
}

export async function recordReports(client: Pick<pg.PoolClient, 'query'>, reports: readonly SoftwareReport[]): Promise<void> {
  if (reports.length === 0) return;
  const ids = [...new Set(reports.map((r) => r.endpointId))];
  // The states as they are, locked until COMMIT: a report through another node waits, then sees
  // this one's result. What each report makes of a state is applyReport's (as on SQLite), in order.
  const { rows } = await client.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoint_software WHERE endpoint_id = ANY($1::text[]) ORDER BY endpoint_id FOR UPDATE`, [ids]);
  const states = new Map<string, EndpointSoftware>(rows.map((row) => [row.endpoint_id, toEndpointSoftware(row)]));
  for (const r of reports) states.set(r.endpointId, applyReport(states.get(r.endpointId), r));
  // In key order, as the lock above: two nodes inserting the same new endpoints never wait on each other in a cycle.
  const written = [...states.values()].map(endpointParams).sort((x, y) => (x.endpoint_id < y.endpoint_id ? -1 : x.endpoint_id > y.endpoint_id ? 1 : 0));
  const column = <T>(pick: (row: EndpointRow) => T) => written.map(pick);
  await client.query(
    `INSERT INTO endpoint_software (${ENDPOINT_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::text[])
     ON CONFLICT (endpoint_id) DO UPDATE SET application_name = excluded.application_name, version = excluded.version, reported_at = excluded.reported_at,
       failed_version = excluded.failed_version, failure_code = excluded.failure_code, failure_reason = excluded.failure_reason, failed_at = excluded.failed_at`,
    [
      column((r) => r.endpoint_id), column((r) => r.application_name), column((r) => r.version), column((r) => r.reported_at), column((r) => r.failed_version),
      column((r) => (r.failure_code === null ? null : String(r.failure_code))), column((r) => r.failure_reason), column((r) => r.failed_at),
    ],
  );
  // Any report of a version ends the endpoint's open offer of that version.
  await client.query('DELETE FROM software_offers o USING unnest($1::text[], $2::text[]) AS r(endpoint_id, version) WHERE o.endpoint_id = r.endpoint_id AND o.version = r.version', [
    reports.map((r) => r.endpointId),
    reports.map((r) => r.version),
  ]);
  // ORDER BY keeps `seq` in the order given: the history reads newest first by it.
  await client.query(
    `INSERT INTO software_reports (endpoint_id, application_name, version, status_code, reason_phrase, at)
     SELECT e, a, v, c, p, t FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::text[]) WITH ORDINALITY AS x(e, a, v, c, p, t, o)
     ORDER BY o`,
    [
      reports.map((r) => r.endpointId), reports.map((r) => r.applicationName), reports.map((r) => r.version), reports.map((r) => String(r.statusCode)),
      reports.map((r) => r.reasonPhrase), reports.map((r) => r.at),
    ],
  );
  await client.query(
    `DELETE FROM software_reports WHERE seq IN (
       SELECT seq FROM (SELECT seq, row_number() OVER (PARTITION BY endpoint_id ORDER BY seq DESC) AS n FROM software_reports WHERE endpoint_id = ANY($1::text[])) ranked
       WHERE n > $2)`,
    [ids, HISTORY_PER_ENDPOINT],
  );
}
