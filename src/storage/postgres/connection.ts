import pg from 'pg';

export interface PoolSettings {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Connections per node (default 10): reads share them; the writer takes one per batch. */
  maxConnections?: number;
  /** How long a connection attempt may take before the caller hears UNAVAILABLE (default 5 s). */
  connectTimeoutMs?: number;
}

/**
 * One `pg` pool per node. The pool is also the reconnection strategy: a broken connection is
 * dropped, and the next query opens a fresh one, so a restarted PostgreSQL is picked up without a
 * Tether restart; meanwhile writes reject with UNAVAILABLE (devices get no PUBACK and retry).
 */
export function createPool(settings: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.maxConnections ?? 10,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'tether',
  });
  // An idle connection that dies (the server restarted) emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  // A connection that dies while checked out (between the statements of a transaction) emits on the
  // client instead; the statement that uses it next rejects, and the release discards it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
