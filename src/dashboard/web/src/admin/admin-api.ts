/** The REST routes of docs/accounts.md the dashboard's admin pages use. */
import { request, type JsonValue } from '../api.js';
import type { Role } from './roles.js';

export interface User {
  username: string;
  role: Role;
  createdDate: string;
  passwordChangedDate: string;
  lastSignInDate?: string | null;
}

export interface ApiKey {
  keyId: string;
  name: string;
  role: Role;
  hint: string;
  createdDate: string;
  createdBy: string;
  lastUsedDate: string | null;
  status: 'ACTIVE' | 'REVOKED';
  revokedDate?: string;
}

export interface SignInThrottle {
  username: string | null;
  clientAddress: string;
  failures: number;
  retryAfterSeconds: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: { kind: 'user' | 'api-key' | 'bootstrap-key' | 'cli'; name: string; role?: Role };
  clientAddress: string | null;
  action: string;
  method?: string;
  path?: string;
  endpointId: string | null;
  target?: string | null;
  before: Record<string, JsonValue> | null;
  after: Record<string, JsonValue> | null;
}

export interface Slice<T> {
  content: T[];
  next: number | null;
}

export interface AuditQuery {
  endpointId?: string;
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  before?: number;
  limit?: number;
}

export interface MetadataVersion {
  id: number;
  at: string;
  source: 'device' | 'operator';
  metadata: Record<string, JsonValue>;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

export const adminApi = {
  users: () => request<User[]>('GET', '/api/v1/users'),
  createUser: (u: { username: string; role: Role; password: string }) => request<User>('POST', '/api/v1/users', u),
  setRole: (username: string, role: Role) => request<User>('PUT', `/api/v1/users/${enc(username)}/role`, { role }),
  resetPassword: (username: string, password: string) => request<User>('PUT', `/api/v1/users/${enc(username)}/password`, { password }),
  deleteUser: (username: string) => request<void>('DELETE', `/api/v1/users/${enc(username)}`),
  changeOwnPassword: (currentPassword: string, password: string) => request<void>('PUT', '/api/v1/me/password', { currentPassword, password }),
  throttles: () => request<SignInThrottle[]>('GET', '/api/v1/sign-in-throttles'),
  clearThrottles: (t: { username?: string | null; clientAddress?: string }) =>
    request<void>('DELETE', `/api/v1/sign-in-throttles${query({ username: t.username ?? undefined, clientAddress: t.clientAddress })}`),

  apiKeys: () => request<ApiKey[]>('GET', '/api/v1/api-keys'),
  createApiKey: (k: { name: string; role: Role }) => request<ApiKey & { key: string }>('POST', '/api/v1/api-keys', k),
  revokeApiKey: (keyId: string) => request<ApiKey>('DELETE', `/api/v1/api-keys/${enc(keyId)}`),

  audit: (q: AuditQuery) => request<Slice<AuditEntry>>('GET', `/api/v1/audit${query({ ...q })}`),
  metadataHistory: (endpointId: string, before?: number) =>
    request<Slice<MetadataVersion>>('GET', `/api/v1/endpoints/${enc(endpointId)}/metadata-history${query({ limit: 20, before })}`),
};
