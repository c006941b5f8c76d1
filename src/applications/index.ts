import type { EventBus } from '../bus/bus.js';
import type { Clock } from '../core/clock.js';
import { errors, isTetherError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Applications, DeclaredApplication } from '../core/services.js';
import type { AppVersion, Application, KeyAccess } from '../core/types.js';
import type { Storage } from '../storage/storage.js';
import { checkExtensions, checkKeyAccess, checkName } from './validate.js';

export interface ApplicationsDeps {
  storage: Storage;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
}

const PAGE = 1000;

/**
 * Applications and their versions. Every device message names a version in its topic, so versions
 * are held in memory (loaded here, kept current by this service's writes) and `getVersion` never
 * touches storage.
 */
export async function createApplications(deps: ApplicationsDeps): Promise<Applications> {
  const { storage, bus, clock } = deps;
  const logger = deps.logger.child({ part: 'applications' });
  const versions = new Map<string, AppVersion>();
  for (const version of await storage.listAppVersions()) versions.set(version.name, freeze(version));

  async function requireApplication(name: string): Promise<Application> {
    const app = await storage.getApplication(name);
    if (!app) throw errors.applicationNotFound(name);
    return app;
  }

  // Other nodes change versions too: their events make this cache read the version again.
  bus.subscribe((event) => {
    if (event.type === 'app-version.changed') {
      storage.getAppVersion(event.appVersionName).then(
        (version) => (version ? versions.set(version.name, freeze(version)) : versions.delete(event.appVersionName)),
        (err: unknown) => logger.warn({ err, appVersion: event.appVersionName }, 'failed to reload an application version'),
      );
    } else if (event.type === 'application.deleted') {
      for (const version of [...versions.values()]) if (version.applicationName === event.applicationName) versions.delete(version.name);
    }
  });

  function announceVersion(version: AppVersion): void {
    bus
      .publish({ type: 'app-version.changed', appVersionName: version.name, applicationName: version.applicationName, at: clock.iso() })
      .catch((err: unknown) => logger.error({ err, appVersion: version.name }, 'failed to publish app-version.changed'));
  }

  async function insertVersion(version: AppVersion): Promise<AppVersion> {
    await storage.insertAppVersion(version);
    const frozen = freeze(version);
    versions.set(frozen.name, frozen);
    announceVersion(frozen);
    return frozen;
  }

  async function writeVersion(version: AppVersion): Promise<AppVersion> {
    await storage.updateAppVersion(version);
    const frozen = freeze(version);
    versions.set(frozen.name, frozen);
    announceVersion(frozen);
    return frozen;
  }

  /** Endpoint IDs of an application, read before it is deleted so their deletion can be announced. */
  async function endpointIdsOf(applicationName: string): Promise<string[]> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await storage.queryEndpoints({ applicationName, offset, limit: PAGE, includeMetadata: false });
      ids.push(...page.content.map((endpoint) => endpoint.endpointId));
      if (page.content.length < PAGE) return ids;
    }
  }

  return {
    listApplications: () => storage.listApplications(),

    getApplication: requireApplication,

    async createApplication(input) {
      const app: Application = {
        name: checkName('Application', input.name),
        description: input.description ?? '',
        createdDate: clock.iso(),
      };
      if (await storage.getApplication(app.name)) throw errors.applicationTaken(app.name);
      await storage.insertApplication(app);
      logger.info({ application: app.name }, 'application created');
      return app;
    },

    async deleteApplication(name) {
      await requireApplication(name);
      const endpointIds = await endpointIdsOf(name);
      if (!(await storage.deleteApplication(name))) throw errors.applicationNotFound(name);
      const appVersionNames: string[] = [];
      for (const version of [...versions.values()]) {
        if (version.applicationName !== name) continue;
        versions.delete(version.name);
        appVersionNames.push(version.name);
      }
      // Sessions and caches keyed by endpoint learn about the cascade through the usual event.
      const at = clock.iso();
      await bus.publish({ type: 'application.deleted', applicationName: name, appVersionNames, at }).catch((err: unknown) => {
        logger.error({ err, application: name }, 'failed to publish application.deleted');
      });
      for (const endpointId of endpointIds) {
        await bus.publish({ type: 'endpoint.deleted', endpointId, applicationName: name, at }).catch((err: unknown) => {
          logger.error({ err, endpointId }, 'failed to publish endpoint.deleted');
        });
      }
      logger.info({ application: name, endpoints: endpointIds.length }, 'application deleted');
    },

    async listVersions(applicationName) {
      if (applicationName !== undefined) await requireApplication(applicationName);
      const all = [...versions.values()].filter((v) => applicationName === undefined || v.applicationName === applicationName);
      return all.sort((a, b) => a.name.localeCompare(b.name));
    },

    cachedVersion: (name) => versions.get(name),

    async getVersion(name) {
      const version = versions.get(name);
      if (!version) throw errors.unknownAppVersion(name);
      return version;
    },

    async createVersion(input) {
      const name = checkName('Application version', input.name);
      const extensions = checkExtensions(input.extensions ?? []);
      const metadataKeyAccess = checkKeyAccess(input.metadataKeyAccess ?? {});
      await requireApplication(input.applicationName);
      if (versions.has(name) || (await storage.getAppVersion(name))) throw errors.appVersionTaken(name);
      const version = await insertVersion({
        name,
        applicationName: input.applicationName,
        registeredDate: clock.iso(),
        extensions,
        metadataKeyAccess,
      });
      logger.info({ appVersion: name, application: version.applicationName }, 'application version created');
      return version;
    },

    async updateVersion(name, patch) {
      const existing = versions.get(name) ?? (await storage.getAppVersion(name));
      if (!existing) throw errors.unknownAppVersion(name);
      return writeVersion({
        ...existing,
        extensions: patch.extensions ? checkExtensions(patch.extensions) : [...existing.extensions],
        metadataKeyAccess: patch.metadataKeyAccess ? checkKeyAccess(patch.metadataKeyAccess) : { ...existing.metadataKeyAccess },
      });
    },

    async ensureDeclared(declared: DeclaredApplication[]) {
      for (const decl of declared) {
        const appName = checkName('Application', decl.name);
        if (!(await storage.getApplication(appName))) {
          // Nodes sharing a database, started at once on an empty one, all declare it: one insert wins.
          const created = await ignoreConflict('APPLICATION_CONFLICT', () => storage.insertApplication({ name: appName, description: decl.description ?? '', createdDate: clock.iso() }));
          if (created) logger.info({ application: appName }, 'declared application created');
        }
        for (const declVersion of decl.versions) {
          const name = checkName('Application version', declVersion.name);
          const extensions = declVersion.extensions ? checkExtensions(declVersion.extensions) : undefined;
          const access = declVersion.metadataKeyAccess ? checkKeyAccess(declVersion.metadataKeyAccess) : undefined;
          let existing = await storage.getAppVersion(name);
          if (!existing) {
            const version = { name, applicationName: appName, registeredDate: clock.iso(), extensions: extensions ?? [], metadataKeyAccess: access ?? {} };
            if (await ignoreConflict('APP_VERSION_CONFLICT', () => insertVersion(version))) {
              logger.info({ appVersion: name, application: appName }, 'declared application version created');
              continue;
            }
            // Another node created it meanwhile: compared and updated below like any existing version.
            existing = await storage.getAppVersion(name);
            if (!existing) throw errors.appVersionTaken(name);
          }
          // Version names are global: the same name under another application is a config mistake.
          if (existing.applicationName !== appName) throw errors.appVersionTaken(name);
          const wanted: AppVersion = {
            ...existing,
            extensions: extensions ?? existing.extensions,
            metadataKeyAccess: access ?? existing.metadataKeyAccess,
          };
          if (!sameVersionSettings(existing, wanted)) {
            await writeVersion(wanted);
            logger.info({ appVersion: name }, 'declared application version updated');
          } else {
            versions.set(name, freeze(existing));
          }
        }
      }
    },
  };
}

/** True when `write` succeeded, false when it hit the conflict `code` (someone else wrote it first). */
async function ignoreConflict(code: string, write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (isTetherError(err) && err.code === code) return false;
    throw err;
  }
}

function sameVersionSettings(a: AppVersion, b: AppVersion): boolean {
  return sameList(a.extensions, b.extensions) && sameAccess(a.metadataKeyAccess, b.metadataKeyAccess);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function sameAccess(a: Record<string, KeyAccess>, b: Record<string, KeyAccess>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** Cached versions are shared by every caller, so nobody may change them in place. */
function freeze(version: AppVersion): AppVersion {
  return Object.freeze({
    ...version,
    extensions: Object.freeze([...version.extensions]) as string[],
    metadataKeyAccess: Object.freeze({ ...version.metadataKeyAccess }),
  });
}
