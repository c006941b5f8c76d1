import type { DeclaredApplication } from '../core/services.js';
import type { KeyAccess } from '../core/types.js';
import { METADATA_KEY_PATTERN, NAME_PATTERN } from '../core/names.js';
import { didYouMean } from '../core/did-you-mean.js';
import { Invalid } from './values.js';

const KEY_ACCESS: readonly KeyAccess[] = ['read-write', 'read-only', 'hidden'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(where: string, value: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new Invalid(`${where} has unknown key "${unknown}"${didYouMean(unknown, allowed)}; allowed: ${allowed.join(", ")}`);
}

function name(where: string, raw: unknown): string {
  if (typeof raw !== 'string' || !NAME_PATTERN.test(raw)) {
    throw new Invalid(`${where} must be a name matching ^[a-z0-9_-]+$`);
  }
  return raw;
}

function version(where: string, raw: unknown): DeclaredApplication['versions'][number] {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with name, extensions, metadataKeyAccess`);
  onlyKeys(where, raw, ['name', 'extensions', 'metadataKeyAccess']);
  const result: DeclaredApplication['versions'][number] = { name: name(`${where}.name`, raw['name']) };
  if (raw['extensions'] !== undefined) {
    const list = raw['extensions'];
    if (!Array.isArray(list)) throw new Invalid(`${where}.extensions must be a list of extension names, e.g. [epmx]`);
    result.extensions = list.map((ext, i) => name(`${where}.extensions[${i}]`, ext));
  }
  if (raw['metadataKeyAccess'] !== undefined) {
    const access = raw['metadataKeyAccess'];
    if (!isRecord(access)) throw new Invalid(`${where}.metadataKeyAccess must map metadata keys to ${KEY_ACCESS.join(' | ')}`);
    const rules: Record<string, KeyAccess> = {};
    for (const [key, rule] of Object.entries(access)) {
      if (!METADATA_KEY_PATTERN.test(key)) throw new Invalid(`${where}.metadataKeyAccess key "${key}" must match ^[a-zA-Z0-9_]+$`);
      const found = KEY_ACCESS.find((allowed) => allowed === rule);
      if (found === undefined) throw new Invalid(`${where}.metadataKeyAccess.${key} must be one of ${KEY_ACCESS.join(', ')}`);
      rules[key] = found;
    }
    result.metadataKeyAccess = rules;
  }
  return result;
}

function application(where: string, raw: unknown): DeclaredApplication {
  if (!isRecord(raw)) throw new Invalid(`${where} must be a mapping with name, description, versions`);
  onlyKeys(where, raw, ['name', 'description', 'versions']);
  const result: DeclaredApplication = { name: name(`${where}.name`, raw['name']), versions: [] };
  if (raw['description'] !== undefined) {
    if (typeof raw['description'] !== 'string') throw new Invalid(`${where}.description must be text`);
    result.description = raw['description'];
  }
  const versions = raw['versions'] ?? [];
  if (!Array.isArray(versions)) throw new Invalid(`${where}.versions must be a list of versions`);
  result.versions = versions.map((v, i) => version(`${where}.versions[${i}]`, v));
  return result;
}

/**
 * The file's `applications` list, merged by name with the defaults: a declared application with the
 * default's name replaces the default entry, others are added. Version names are global in 1/KP
 * topics, so they must be unique across all applications.
 */
export function parseApplications(raw: unknown, defaults: DeclaredApplication[]): DeclaredApplication[] {
  if (!Array.isArray(raw)) throw new Invalid('applications must be a list of applications');
  const declared = raw.map((app, i) => application(`applications[${i}]`, app));
  const merged = new Map<string, DeclaredApplication>();
  for (const app of defaults) merged.set(app.name, app);
  const seenApps = new Set<string>();
  for (const app of declared) {
    if (seenApps.has(app.name)) throw new Invalid(`application "${app.name}" is declared twice`);
    seenApps.add(app.name);
    merged.set(app.name, app);
  }
  const versionOwner = new Map<string, string>();
  for (const app of merged.values()) {
    for (const v of app.versions) {
      const owner = versionOwner.get(v.name);
      if (owner === app.name) throw new Invalid(`application version "${v.name}" is declared twice in "${app.name}"`);
      if (owner !== undefined) {
        throw new Invalid(`application version "${v.name}" is declared in both "${owner}" and "${app.name}"; version names are global`);
      }
      versionOwner.set(v.name, app.name);
    }
  }
  return [...merged.values()];
}
