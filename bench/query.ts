/**
 * The dashboard's endpoint list against a large registry: the same page requests over HTTP
 * (what the dashboard waits for) and directly on the storage layer (the reference that shows what
 * HTTP, auth, validation and serialization add).
 */
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { toEndpointQuery, type EndpointListQuery } from '../src/api/endpoint-query.js';
import { openSqliteStorage } from '../src/storage/sqlite/index.js';
import { APPLICATION, DB_FILE } from './seed.js';
import { percentilesOf, type LatencySummary } from './stats.js';

export interface ListRequest {
  sort: string;
  search?: string;
  offset: number;
}

/** Pages a dashboard user would open: sorted by metadata or a column, searched or not, deep or not. */
export function listRequests(total: number): ListRequest[] {
  const deep = Math.max(0, Math.floor(total / 2) - (Math.floor(total / 2) % 20));
  return [
    { sort: 'metadata.model,desc', offset: 0 },
    { sort: 'metadata.model,desc', offset: 20 },
    { sort: 'metadata.model,desc', search: 'floor 3', offset: 0 },
    { sort: 'metadata.model,desc', search: 'north tower', offset: 200 },
    { sort: 'metadata.mac,asc', search: 'a4:cf:1', offset: 40 },
    { sort: 'metadata.model,desc', offset: deep },
    { sort: 'createdDate,desc', search: 'em-300x', offset: 0 },
    { sort: 'metadata.meterDescription,asc', search: 'meter 4', offset: 60 },
    { sort: 'lastSeen,desc', offset: 100 },
    { sort: 'metadata.model,asc', search: 'sensor', offset: 1000 },
  ];
}

function searchParams(r: ListRequest): URLSearchParams {
  const p = new URLSearchParams({
    applicationName: APPLICATION,
    include: 'metadata',
    limit: '20',
    offset: String(r.offset),
    sort: r.sort,
    connected: 'false',
  });
  if (r.search !== undefined) p.set('search', r.search);
  return p;
}

export interface QueryTiming {
  latency: LatencySummary;
  /** `totalElements` of each distinct request, a sanity check that searches match something. */
  totals: number[];
  /** Median time of each request shape, to tell which page shapes are slow. */
  shapeMedians: number[];
  errors: number;
  firstError?: string;
}

/** Times `count` sequential requests over one keep-alive connection, after a short warm-up. */
export async function timeHttpQueries(httpPort: number, adminKey: string, requests: ListRequest[], count: number): Promise<QueryTiming> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (r: ListRequest) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: httpPort, path: `/epr/api/v1/endpoints?${searchParams(r)}`, agent, headers: { authorization: `Bearer ${adminKey}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });

  const totals: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  try {
    for (const r of requests) {
      const res = await get(r);
      if (res.status !== 200) {
        errors++;
        firstError ??= `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
        totals.push(NaN);
        continue;
      }
      const page = JSON.parse(res.body) as { totalElements?: number; content?: unknown[] };
      totals.push(page.totalElements ?? NaN);
    }
    const times: number[] = [];
    const byShape: number[][] = requests.map(() => []);
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const res = await get(requests[i % requests.length]!);
      times.push(performance.now() - t0);
      byShape[i % requests.length]!.push(times[i]!);
      if (res.status !== 200) {
        errors++;
        firstError ??= `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
      }
    }
    return { latency: percentilesOf(times), totals, shapeMedians: byShape.map((t) => percentilesOf(t).p50), errors, firstError };
  } finally {
    agent.destroy();
  }
}

/** The same requests straight on the storage layer, in this process. */
export async function timeStorageQueries(dataDir: string, requests: ListRequest[], count: number): Promise<QueryTiming> {
  const storage = await openSqliteStorage({ file: path.join(dataDir, DB_FILE) });
  const queryOf = (r: ListRequest) => {
    const q: EndpointListQuery = {
      applicationName: APPLICATION,
      include: ['metadata'],
      limit: 20,
      offset: r.offset,
      sort: r.sort,
      connected: false,
    };
    if (r.search !== undefined) q.search = r.search;
    return toEndpointQuery(q);
  };
  try {
    const totals: number[] = [];
    for (const r of requests) totals.push((await storage.queryEndpoints(queryOf(r))).totalElements);
    const times: number[] = [];
    const byShape: number[][] = requests.map(() => []);
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const page = await storage.queryEndpoints(queryOf(requests[i % requests.length]!));
      // Serializing is part of what a caller pays for; the HTTP side does it too.
      JSON.stringify(page);
      times.push(performance.now() - t0);
      byShape[i % requests.length]!.push(times[i]!);
    }
    return { latency: percentilesOf(times), totals, shapeMedians: byShape.map((t) => percentilesOf(t).p50), errors: 0 };
  } finally {
    await storage.close();
  }
}

export function describe(r: ListRequest): string {
  return `sort=${r.sort}${r.search !== undefined ? ` search="${r.search}"` : ''} offset=${r.offset}`;
}
