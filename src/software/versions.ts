/**
 * Version arithmetic of Kaa OTAO, on the `semver` package: which versions a record upgrades
 * (`upgradableFrom`), and validation of what operators send. Pure functions, tested one by one.
 */
import semver from 'semver';
import type { RolloutStrategy, SoftwareRecord } from '../core/software.js';

/** `*` in upgradableFrom: any device, whatever it runs or whether it ever said. */
export const ANY_VERSION = '*';
/** `""` in upgradableFrom: devices that never reported a version. */
export const NO_VERSION = '';

export const ROLLOUT_STRATEGIES: readonly RolloutStrategy[] = ['suspended', 'targeted', 'general'];

/** A version a record may have: semver 2.0 exactly as written (no `v` prefix, no loose forms; build metadata allowed). */
export function isStrictVersion(text: string): boolean {
  const parsed = semver.parse(text);
  if (parsed === null) return false;
  return text === (parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version);
}

/** Why an upgradableFrom entry is unusable, or undefined when it is fine. */
export function upgradableFromProblem(entry: string): string | undefined {
  if (entry === ANY_VERSION || entry === NO_VERSION) return undefined;
  if (semver.valid(entry) !== null || semver.validRange(entry) !== null) return undefined;
  return `upgradableFrom entry ${JSON.stringify(entry)} is neither a semantic version (1.2.0), a range (1.2.x, >=1.0.0 <2, ^1.4), "*" nor ""`;
}

/**
 * Whether a device running `current` (null: never reported) may be offered the record. Entries
 * match as: `*` anything; `""` no version yet; an exact version string; a semver range, which
 * includes pre-releases (a device on 1.3.0-beta.2 is covered by >=1.0.0). A device reporting a
 * string that is not semver matches only `*` or that exact string.
 */
export function isUpgradable(record: Pick<SoftwareRecord, 'version' | 'upgradableFrom'>, current: string | null): boolean {
  if (current === record.version) return false;
  for (const entry of record.upgradableFrom) {
    if (entry === ANY_VERSION) return true;
    if (current === null) {
      if (entry === NO_VERSION) return true;
      continue;
    }
    if (entry === NO_VERSION) continue;
    if (entry === current) return true;
    if (semver.valid(current) === null) continue;
    if (semver.validRange(entry) !== null && semver.satisfies(current, entry, { includePrerelease: true })) return true;
  }
  return false;
}

/** Newest first: semver order (records hold strict versions only). */
export function newestFirst<T extends { version: string }>(records: T[]): T[] {
  return records.sort((a, b) => semver.rcompare(a.version, b.version));
}

/**
 * Whether `candidate` is an upgrade of `current` for the strategies (pull): newer by semver. A
 * device that runs something that is not semver (or nothing) has no order: any candidate its
 * upgradableFrom admits will do.
 */
export function isNewer(candidate: string, current: string | null): boolean {
  if (current === null || semver.valid(current) === null) return true;
  return semver.gt(candidate, current);
}

/**
 * Order of what devices report, for the Endpoint List: semver versions by precedence, then strings
 * that are not semver by text, then endpoints that never reported (null), in either direction.
 */
export function compareReported(a: string | null, b: string | null, direction: 'asc' | 'desc'): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const sa = semver.valid(a) !== null;
  const sb = semver.valid(b) !== null;
  const order = sa && sb ? semver.compareBuild(a, b) : sa !== sb ? (sa ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
  return direction === 'asc' ? order : -order;
}
