import type { ClientCredentialKind, ClientCredentialRecord, ClientCredentialStatus } from '../../core/types.js';

/**
 * The `client_credentials` table's columns and row shape, the same in every SQL backend
 * (storage/sqlite/, storage/postgres/): one mapping from a row to the record.
 */
export interface ClientCredentialRow {
  credential_id: string;
  application_name: string;
  kind: string;
  username: string | null;
  password_hash: string | null;
  certificate_fingerprint: string | null;
  certificate_subject: string | null;
  bound_endpoints: string;
  status: string;
  description: string;
  created_date: string;
  status_updated_date: string;
}

export const CLIENT_CREDENTIAL_COLUMNS = `credential_id, application_name, kind, username, password_hash, certificate_fingerprint,
  certificate_subject, bound_endpoints, status, description, created_date, status_updated_date`;

export function toClientCredentialRecord(row: ClientCredentialRow): ClientCredentialRecord {
  return {
    credentialId: row.credential_id,
    applicationName: row.application_name,
    kind: row.kind as ClientCredentialKind,
    username: row.username,
    passwordHash: row.password_hash,
    certificateFingerprint: row.certificate_fingerprint,
    certificateSubject: row.certificate_subject,
    boundEndpoints: JSON.parse(row.bound_endpoints) as string[],
    status: row.status as ClientCredentialStatus,
    description: row.description,
    createdDate: row.created_date,
    statusUpdatedDate: row.status_updated_date,
  };
}
