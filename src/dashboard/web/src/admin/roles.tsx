import { createContext, useContext } from 'react';

/** The three roles of docs/accounts.md; the server enforces them, the UI only hides what would be refused. */
export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: Role[] = ['admin', 'operator', 'viewer'];

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  admin: 'everything, including users, API keys and settings',
  operator: 'endpoints, tokens, metadata and telemetry',
  viewer: 'read only (endpoints, metadata, tokens, export)',
};

export interface Viewer {
  username: string;
  role: Role;
}

export const ViewerContext = createContext<Viewer>({ username: '', role: 'viewer' });

export function useViewer(): Viewer {
  return useContext(ViewerContext);
}

/** What the signed-in user may do; mirrors the server's rules so no button leads to a 403. */
export function permissions(role: Role) {
  return {
    /** Endpoints, tokens, metadata, bulk actions, import. */
    writeEndpoints: role === 'admin' || role === 'operator',
    /** Widget columns, creation form: shared settings. */
    writeSettings: role === 'admin',
    manageUsers: role === 'admin',
    /** API keys: admins manage every key. */
    manageApiKeys: role === 'admin',
    readAudit: role === 'admin',
  };
}

export function useCan() {
  return permissions(useViewer().role);
}

export function asRole(value: unknown): Role {
  return value === 'operator' || value === 'viewer' || value === 'admin' ? value : 'viewer';
}
