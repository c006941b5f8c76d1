import { KP1_PREFIX } from '../protocol/index.js';

/** MQTT 3.1.1 §4.7: does `topic` match the subscription `filter` (`+` one level, `#` the rest)? */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with `$`.
  if (topic.charCodeAt(0) === 36 && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // also matches the parent: `a/#` matches `a`
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Devices may subscribe only below a concrete `kp1/<appVersion>/<extension>/<endpointToken>/`:
 * responses carry endpoint data, and knowing the token is what entitles a client to them.
 * Wildcards are fine after the token level (`kp1/v/epmx/tok/+/status`).
 */
export function isAllowedSubscription(filter: string): boolean {
  if (!filter.startsWith(KP1_PREFIX)) return false;
  let start = KP1_PREFIX.length;
  for (let level = 0; level < 3; level++) {
    const end = filter.indexOf('/', start);
    if (end <= start) return false; // missing or empty level, or filter ends before the token
    const first = filter.charCodeAt(start);
    if (end === start + 1 && (first === 43 || first === 35)) return false; // `+` or `#`
    start = end + 1;
  }
  return true;
}

/**
 * The `kp1/<appVersion>/<extension>/<endpointToken>` part of a topic or of an allowed filter. Those
 * levels are never wildcards in a filter (isAllowedSubscription), so a filter can match a topic only
 * when both have the same scope: reply routing looks only at the subscriptions of the reply's scope.
 */
export function responseScope(topicOrFilter: string): string {
  let end = -1;
  for (let level = 0; level < 4; level++) {
    end = topicOrFilter.indexOf('/', end + 1);
    if (end < 0) return topicOrFilter;
  }
  return topicOrFilter.slice(0, end);
}
