import { errors } from '../core/errors.js';
import type { KeyAccess, Metadata, MetadataChange } from '../core/types.js';
import { jsonEqual } from './json-equal.js';

/**
 * 10/EPMP "server MAY restrict access": how the version's `metadataKeyAccess` rules shape what a
 * device sees and writes. Pure functions; operators never pass through here.
 */
export type KeyRules = Readonly<Record<string, KeyAccess>>;

export function accessOf(rules: KeyRules, key: string): KeyAccess {
  // hasOwn: keys such as "constructor" are valid metadata keys and must not hit Object.prototype.
  return Object.hasOwn(rules, key) ? (rules[key] ?? 'read-write') : 'read-write';
}

/** Per rules object (a version's, replaced whole when it changes): asked several times per device message. */
const protectedKeys = new WeakMap<KeyRules, boolean>();

function hasProtectedKeys(rules: KeyRules): boolean {
  let known = protectedKeys.get(rules);
  if (known === undefined) {
    known = Object.values(rules).some((access) => access !== 'read-write');
    protectedKeys.set(rules, known);
  }
  return known;
}

/** 10/EPMP: devices never see keys they can neither read nor write. */
export function visibleToDevice(metadata: Metadata, rules: KeyRules): Metadata {
  if (!hasProtectedKeys(rules)) return metadata;
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => accessOf(rules, key) !== 'hidden'));
}

/** Whether `deviceChange` needs the endpoint's current metadata to be planned. */
export function needsCurrentMetadata(change: MetadataChange, rules: KeyRules): boolean {
  switch (change.kind) {
    case 'replace':
      return hasProtectedKeys(rules);
    case 'merge':
      return hasProtectedKeys(rules) && Object.keys(change.metadata).some((key) => accessOf(rules, key) === 'read-only');
    case 'delete':
      return false;
  }
}

/**
 * Turns a device's change into the change to store, or rejects METADATA_KEY_WRITE_DENIED.
 * A read-only key sent with its current value is not a write (devices often send back what they
 * read), so it is accepted and left as it is.
 */
export function planDeviceChange(change: MetadataChange, rules: KeyRules, current: Metadata): MetadataChange {
  // Every key read-write (the usual case): the change stands as sent; no copy on the hot path.
  if (!hasProtectedKeys(rules)) return change;
  switch (change.kind) {
    case 'delete': {
      // 10/EPMP: the server MUST NOT delete keys that are not writable by the client.
      const denied = change.keys.find((key) => accessOf(rules, key) !== 'read-write');
      if (denied !== undefined) throw errors.metadataKeyWriteDenied(denied);
      return change;
    }
    case 'merge':
      // 10/EPMP: creating or updating a restricted key is an error.
      return { kind: 'merge', metadata: writableEntries(change.metadata, rules, current) };
    case 'replace': {
      const written = writableEntries(change.metadata, rules, current);
      // 10/EPMP: a full update MUST NOT modify or delete keys the client may not write, so they
      // are carried over as they are; every other key absent from the payload is removed.
      const kept = Object.entries(current).filter(([key]) => accessOf(rules, key) !== 'read-write');
      return { kind: 'replace', metadata: Object.fromEntries([...Object.entries(written), ...kept]) };
    }
  }
}

function writableEntries(metadata: Metadata, rules: KeyRules, current: Metadata): Metadata {
  const entries = Object.entries(metadata).filter(([key, value]) => {
    const access = accessOf(rules, key);
    if (access === 'read-write') return true;
    if (access === 'read-only' && Object.hasOwn(current, key) && jsonEqual(current[key], value)) return false;
    throw errors.metadataKeyWriteDenied(key);
  });
  return Object.fromEntries(entries);
}
