import type pg from 'pg';
import type { NodeLeases } from '../storage.js';

/**
 * Node leases in PostgreSQL, timed by the database's clock (nodes' clocks may disagree; the one
 * database's does not disagree with itself). A node renews its row; a survivor deletes rows older
 * than the lease and takes over the cleanup of those nodes. DELETE … RETURNING hands each dead
 * node to exactly one survivor.
 */
export function createPgNodeLeases(pool: pg.Pool): NodeLeases {
  return {
    async renew(nodeId) {
      const { rows } = await pool.query<{ inserted: boolean }>(
        `INSERT INTO tether_nodes (node_id) VALUES ($1)
         ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now() RETURNING (xmax = 0) AS inserted`,
        [nodeId],
      );
      return { created: rows[0]?.inserted === true };
    },

    async claimDead(selfId, leaseMs) {
      const expired = await pool.query<{ node_id: string }>(
        'DELETE FROM tether_nodes WHERE node_id <> $1 AND heartbeat_at < now() - make_interval(secs => $2) RETURNING node_id',
        [selfId, leaseMs / 1000],
      );
      // Sessions recorded under a node that holds no lease at all (it died before its first renewal,
      // or a survivor died half-way through its cleanup).
      const orphans = await pool.query<{ node: string }>(
        `SELECT DISTINCT connected_node AS node FROM endpoints
          WHERE connected AND connected_node IS NOT NULL AND connected_node <> $1
            AND NOT EXISTS (SELECT 1 FROM tether_nodes n WHERE n.node_id = endpoints.connected_node)`,
        [selfId],
      );
      return [...new Set([...expired.rows.map((r) => r.node_id), ...orphans.rows.map((r) => r.node)])];
    },

    async leave(nodeId) {
      await pool.query('DELETE FROM tether_nodes WHERE node_id = $1', [nodeId]);
    },

    async live() {
      const { rows } = await pool.query<{ node_id: string; started_at: Date; heartbeat_at: Date }>('SELECT node_id, started_at, heartbeat_at FROM tether_nodes ORDER BY node_id');
      return rows.map((r) => ({ nodeId: r.node_id, startedAt: r.started_at.toISOString(), heartbeatAt: r.heartbeat_at.toISOString() }));
    },
  };
}
