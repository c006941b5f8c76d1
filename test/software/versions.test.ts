/** upgradableFrom matching and version validation (src/software/versions.ts), one rule at a time. */
import assert from 'node:assert/strict';
import { test } from '../helpers/test.js';
import { isNewer, isStrictVersion, isUpgradable, newestFirst, upgradableFromProblem } from '../../src/software/versions.js';

const record = (upgradableFrom: string[], version = '2.0.0') => ({ version, upgradableFrom });

test('exact versions match only themselves', () => {
  assert.equal(isUpgradable(record(['1.0.0', '1.1.0']), '1.0.0'), true);
  assert.equal(isUpgradable(record(['1.0.0', '1.1.0']), '1.1.0'), true);
  assert.equal(isUpgradable(record(['1.0.0']), '1.0.1'), false);
  assert.equal(isUpgradable(record(['1.0.0']), null), false);
});

test('semver ranges match what they cover, pre-releases included', () => {
  assert.equal(isUpgradable(record(['1.2.x']), '1.2.7'), true);
  assert.equal(isUpgradable(record(['1.2.x']), '1.3.0'), false);
  assert.equal(isUpgradable(record(['>=1.0.0 <2']), '1.9.9'), true);
  assert.equal(isUpgradable(record(['>=1.0.0 <2'], '3.0.0'), '2.0.0'), false);
  assert.equal(isUpgradable(record(['^1.4']), '1.5.0'), true);
  assert.equal(isUpgradable(record(['^1.4']), '1.3.9'), false);
  assert.equal(isUpgradable(record(['>=1.0.0']), '1.3.0-beta.2'), true, 'a device on a beta is covered by the range around it');
  assert.equal(isUpgradable(record(['~1.2.0 || 1.4.x']), '1.4.2'), true);
});

test('"*" matches any device, also one that never reported; "" only one that never reported', () => {
  assert.equal(isUpgradable(record(['*']), '0.0.1'), true);
  assert.equal(isUpgradable(record(['*']), 'legacy-7'), true);
  assert.equal(isUpgradable(record(['*']), null), true);
  assert.equal(isUpgradable(record(['']), null), true);
  assert.equal(isUpgradable(record(['']), '1.0.0'), false);
  assert.equal(isUpgradable(record([]), null), false);
});

test('a device reporting a version that is not semver matches only "*" or that exact string', () => {
  assert.equal(isUpgradable(record(['legacy-7']), 'legacy-7'), true);
  assert.equal(isUpgradable(record(['1.x']), 'legacy-7'), false);
});

test('never upgradable from the version itself', () => {
  assert.equal(isUpgradable(record(['*'], '1.0.0'), '1.0.0'), false);
});

test('validation: versions are strict semver; upgradableFrom entries versions, ranges, "*" or ""', () => {
  for (const ok of ['1.0.0', '0.1.2', '2.0.0-rc.1', '1.2.3+build.5']) assert.equal(isStrictVersion(ok), true, ok);
  for (const bad of ['v1.0.0', '1.0', '1', '01.0.0', ' 1.0.0', 'latest', '']) assert.equal(isStrictVersion(bad), false, bad);
  for (const ok of ['*', '', '1.0.0', '1.2.x', '>=1.0.0 <2', '^1.4', '~1.2']) assert.equal(upgradableFromProblem(ok), undefined, ok);
  assert.match(upgradableFromProblem('one point two') ?? '', /neither a semantic version .* nor ""/);
});

test('newest first by semver, not by text; isNewer orders by semver and lets unordered versions through', () => {
  const sorted = newestFirst([{ version: '1.9.0' }, { version: '1.10.0' }, { version: '1.10.0-rc.1' }, { version: '0.9.0' }]).map((r) => r.version);
  assert.deepEqual(sorted, ['1.10.0', '1.10.0-rc.1', '1.9.0', '0.9.0']);
  assert.equal(isNewer('1.10.0', '1.9.0'), true);
  assert.equal(isNewer('1.0.0', '1.0.0'), false);
  assert.equal(isNewer('1.0.0', '1.2.0'), false);
  assert.equal(isNewer('1.0.0', null), true);
  assert.equal(isNewer('1.0.0', 'legacy-7'), true);
});
