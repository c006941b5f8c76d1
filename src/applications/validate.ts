import { errors } from '../core/errors.js';
import { METADATA_KEY_PATTERN, NAME_PATTERN } from '../core/names.js';
import type { KeyAccess } from '../core/types.js';

const KEY_ACCESS: ReadonlySet<string> = new Set<KeyAccess>(['read-write', 'read-only', 'hidden']);

export function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw errors.nameInvalid(what, String(name));
  return name;
}

/** Extension instance names appear as the third 1/KP topic level, so they follow the name rules. */
export function checkExtensions(extensions: readonly unknown[]): string[] {
  const names = extensions.map((name) => checkName('Extension instance', name));
  return [...new Set(names)];
}

export function checkKeyAccess(rules: Record<string, unknown>): Record<string, KeyAccess> {
  const checked: Record<string, KeyAccess> = {};
  for (const [key, access] of Object.entries(rules)) {
    if (!METADATA_KEY_PATTERN.test(key)) throw errors.metadataKeyInvalid(key);
    if (typeof access !== 'string' || !KEY_ACCESS.has(access)) {
      throw errors.validation(`access of metadata key ${JSON.stringify(key)} must be one of read-write, read-only, hidden`);
    }
    checked[key] = access as KeyAccess;
  }
  return checked;
}
