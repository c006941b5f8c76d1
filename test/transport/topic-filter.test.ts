import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { isAllowedSubscription, topicMatchesFilter } from '../../src/transport/topic-filter.js';

describe('MQTT topic filters', () => {
  it('matches exact topics and wildcards', () => {
    const yes: Array<[string, string]> = [
      ['a/b/c', 'a/b/c'],
      ['a/+/c', 'a/b/c'],
      ['a/#', 'a/b/c'],
      ['a/#', 'a'],
      ['#', 'a/b'],
      ['+/+', 'a/b'],
      ['a/+', 'a/'],
      ['kp1/v/epmx/tok/+/status', 'kp1/v/epmx/tok/get/status'],
    ];
    const no: Array<[string, string]> = [
      ['a/b/c', 'a/b'],
      ['a/b', 'a/b/c'],
      ['a/+/c', 'a/b/d'],
      ['a/+', 'a/b/c'],
      ['+', 'a/b'],
      ['#', '$SYS/x'],
      ['+/x', '$SYS/x'],
      ['kp1/v/epmx/tok/get/1/status', 'kp1/v/epmx/tok/get/1/error'],
    ];
    for (const [filter, topic] of yes) assert.equal(topicMatchesFilter(filter, topic), true, `${filter} ~ ${topic}`);
    for (const [filter, topic] of no) assert.equal(topicMatchesFilter(filter, topic), false, `${filter} !~ ${topic}`);
  });

  it('allows subscriptions only below a concrete kp1/<version>/<extension>/<token>/', () => {
    for (const filter of ['kp1/v/epmx/tok/update/keys/status', 'kp1/v/epmx/tok/#', 'kp1/v/epmx/tok/+/error']) {
      assert.equal(isAllowedSubscription(filter), true, filter);
    }
    for (const filter of ['#', 'kp1/#', 'kp1/+/epmx/tok/#', 'kp1/v/+/tok/#', 'kp1/v/epmx/+/#', 'kp1/v/epmx/#', 'kp1/v/epmx/tok', '$SYS/#', 'other/x', 'kp1//epmx/tok/x']) {
      assert.equal(isAllowedSubscription(filter), false, filter);
    }
  });
});
