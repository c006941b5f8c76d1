import type { Database } from 'better-sqlite3';
import { SEARCH_KEY_BITS } from './schema.js';

/**
 * Every fixed statement, prepared once after migrations: the hot paths (metadata changes, lastSeen)
 * do no SQL parsing per call.
 */
export function prepareStatements(db: Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    // applications
    insertApplication: p('INSERT INTO applications (name, description, created_date) VALUES (?, ?, ?)'),
    getApplication: p('SELECT name, description, created_date FROM applications WHERE name = ?'),
    listApplications: p('SELECT name, description, created_date FROM applications ORDER BY name'),
    deleteApplication: p('DELETE FROM applications WHERE name = ?'),

    insertAppVersion: p(
      'INSERT INTO app_versions (name, application_name, registered_date, extensions, metadata_key_access) VALUES (?, ?, ?, ?, ?)',
    ),
    updateAppVersion: p('UPDATE app_versions SET extensions = ?, metadata_key_access = ? WHERE name = ?'),
    getAppVersion: p('SELECT * FROM app_versions WHERE name = ?'),
    listAppVersions: p('SELECT * FROM app_versions ORDER BY application_name, name'),
    listAppVersionsOf: p('SELECT * FROM app_versions WHERE application_name = ? ORDER BY name'),

    // endpoints
    insertEndpoint: p(
      `INSERT INTO endpoints (endpoint_id, application_name, app_version_name, created_date, metadata_updated_date,
         connected, connectivity_ts, last_connected_date, last_disconnected_date, last_seen, metadata, search_text)
       VALUES (@endpoint_id, @application_name, @app_version_name, @created_date, @metadata_updated_date,
         @connected, @connectivity_ts, @last_connected_date, @last_disconnected_date, @last_seen, @metadata, @search_text)`,
    ),
    getEndpoint: p(
      `SELECT seq, endpoint_id, application_name, app_version_name, created_date, metadata_updated_date,
         connected, connectivity_ts, last_connected_date, last_disconnected_date, last_seen FROM endpoints WHERE endpoint_id = ?`,
    ),
    getEndpointWithMetadata: p(
      `SELECT seq, endpoint_id, application_name, app_version_name, created_date, metadata_updated_date,
         connected, connectivity_ts, last_connected_date, last_disconnected_date, last_seen, metadata FROM endpoints WHERE endpoint_id = ?`,
    ),
    deleteEndpoint: p('DELETE FROM endpoints WHERE endpoint_id = ?'),
    // The endpoint ID's row of the search index (key_id 0); see schema.ts.
    insertEndpointSearch: p(
      `INSERT INTO endpoint_search_pending (rowid, existed, text) VALUES (? * ${SEARCH_KEY_BITS}, 0, ?)
       ON CONFLICT (rowid) DO UPDATE SET text = excluded.text`,
    ),
    // Applies the queued search index changes in bulk; see schema.ts.
    hasPendingSearchRows: p('SELECT EXISTS (SELECT 1 FROM endpoint_search_pending) AS pending').pluck(),
    searchDeletePending: p('DELETE FROM endpoint_search WHERE rowid IN (SELECT rowid FROM endpoint_search_pending WHERE existed = 1)'),
    searchInsertPending: p(
      'INSERT INTO endpoint_search (rowid, text) SELECT rowid, text FROM endpoint_search_pending WHERE text IS NOT NULL ORDER BY rowid',
    ),
    clearPendingSearchRows: p('DELETE FROM endpoint_search_pending'),

    // metadata
    getMetadataDoc: p('SELECT seq, application_name, metadata FROM endpoints WHERE endpoint_id = ?'),
    updateMetadataDoc: p('UPDATE endpoints SET metadata = ?, search_text = ?, metadata_updated_date = ? WHERE seq = ?'),
    updateMetadataDocSeen: p('UPDATE endpoints SET metadata = ?, search_text = ?, metadata_updated_date = ?, last_seen = ? WHERE seq = ?'),
    upsertMetadataKey: p(
      `INSERT INTO endpoint_metadata (endpoint_seq, key, application_name, canon, sort_value, search_text)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (endpoint_seq, key) DO UPDATE SET
         canon = excluded.canon, sort_value = excluded.sort_value, search_text = excluded.search_text`,
    ),
    deleteMetadataKey: p('DELETE FROM endpoint_metadata WHERE endpoint_seq = ? AND key = ?'),
    // A loose index scan: one index seek per distinct key instead of reading every row.
    metadataKeysOfApplication: p(
      `WITH RECURSIVE k(key) AS (
         SELECT (SELECT min(key) FROM endpoint_metadata WHERE application_name = @app)
         UNION ALL
         SELECT (SELECT min(key) FROM endpoint_metadata WHERE application_name = @app AND key > k.key) FROM k WHERE k.key IS NOT NULL
       ) SELECT key FROM k WHERE key IS NOT NULL`,
    ),

    // tokens
    insertToken: p(
      `INSERT INTO tokens (token_id, application_name, endpoint_id, token_hash, status, created_date, status_updated_date, hint)
       VALUES (@token_id, @application_name, @endpoint_id, @token_hash, @status, @created_date, @status_updated_date, @hint)`,
    ),
    findTokenByHash: p('SELECT * FROM tokens WHERE application_name = ? AND token_hash = ?'),
    getToken: p('SELECT * FROM tokens WHERE token_id = ?'),
    listTokens: p('SELECT * FROM tokens WHERE endpoint_id = ? ORDER BY created_date, token_id'),
    updateTokenStatus: p('UPDATE tokens SET status = ?, status_updated_date = ? WHERE token_id = ?'),

    // connectivity
    recordConnected: p('UPDATE endpoints SET connected = 1, connectivity_ts = @at, last_connected_date = @at, last_seen = @at, connected_node = @node WHERE endpoint_id = @id'),
    // A disconnect from a node that no longer holds the endpoint's session (taken over elsewhere) changes nothing.
    recordDisconnected: p(
      'UPDATE endpoints SET connected = 0, connectivity_ts = @at, last_disconnected_date = @at, connected_node = NULL WHERE endpoint_id = @id' +
        ' AND (@node IS NULL OR connected_node IS NULL OR connected_node = @node)',
    ),
    recordSeen: p('UPDATE endpoints SET last_seen = ? WHERE endpoint_id = ?'),
    resetConnectivity: p('UPDATE endpoints SET connected = 0, connectivity_ts = @at, last_disconnected_date = @at, connected_node = NULL WHERE connected = 1'),
    disconnectNode: p(
      'UPDATE endpoints SET connected = 0, connectivity_ts = @at, last_disconnected_date = @at, connected_node = NULL' +
        ' WHERE connected = 1 AND connected_node = @node RETURNING endpoint_id, application_name',
    ),

    // settings
    getSetting: p('SELECT value FROM settings WHERE key = ?'),
    putSetting: p('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    deleteSetting: p('DELETE FROM settings WHERE key = ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
