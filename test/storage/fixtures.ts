import { createHash, randomUUID } from 'node:crypto';
import type { AppVersion, Application, EndpointRecord, TokenRecord, TokenStatus } from '../../src/core/types.js';
import type { Storage } from '../../src/storage/storage.js';

/** Builders for storage records, so each test states only what it is about. */
export const T0 = '2026-01-01T00:00:00.000Z';

export function at(seconds: number): string {
  return new Date(Date.parse(T0) + seconds * 1000).toISOString();
}

export function application(name: string, description = ''): Application {
  return { name, description, createdDate: T0 };
}

export function appVersion(applicationName: string, name: string, extra: Partial<AppVersion> = {}): AppVersion {
  return { name, applicationName, registeredDate: T0, extensions: ['epmx'], metadataKeyAccess: {}, ...extra };
}

export function endpoint(endpointId: string, appVersionName: string, applicationName: string, extra: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    endpointId,
    applicationName,
    appVersionName,
    createdDate: T0,
    metadataUpdatedDate: null,
    connected: false,
    connectivityTs: null,
    lastConnectedDate: null,
    lastDisconnectedDate: null,
    lastSeen: null,
    ...extra,
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function token(endpointId: string, applicationName: string, plain: string, status: TokenStatus = 'INACTIVE'): TokenRecord {
  return {
    tokenId: randomUUID(),
    applicationName,
    endpointId,
    tokenHash: sha256(plain),
    status,
    createdDate: T0,
    statusUpdatedDate: T0,
    hint: plain.slice(-4),
  };
}

/** Creates application `app` with version `<app>_v1` and returns their names. */
export async function seedApplication(storage: Storage, app = 'demo_application'): Promise<{ app: string; version: string }> {
  const version = `${app}_v1`;
  await storage.insertApplication(application(app));
  await storage.insertAppVersion(appVersion(app, version));
  return { app, version };
}
