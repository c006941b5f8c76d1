import { errors } from '../core/errors.js';

/** 1/KP: every resource path starts with this reserved prefix. */
export const KP1_PREFIX = 'kp1/';

/** Largest request ID accepted: IDs must survive a round trip through a JSON number. */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;

/** A 1/KP request topic taken apart: `kp1/<appVersion>/<extension>/<endpointToken>/<resourcePath>[/<requestId>]`. */
export interface KpTopic {
  appVersionName: string;
  extensionInstance: string;
  /** Plain token: a secret, never log it. */
  endpointToken: string;
  /** Extension-specific path, e.g. `update/keys`; the request ID is not part of it. */
  resourcePath: string;
  /** Absent when the topic has none: then no success response is sent (1/KP). */
  requestId: number | undefined;
}

// Longest digit string that can be at most MAX_REQUEST_ID (16 digits); longer ones are rejected before parsing.
const MAX_REQUEST_ID_DIGITS = String(MAX_REQUEST_ID).length;

/**
 * Parses a 1/KP request topic. Rejects with KP_TOPIC_INVALID (400) when the topic does not follow
 * the grammar and REQUEST_ID_INVALID (400) when the last level is a number that cannot be an ID.
 * Pure and allocation-light: it runs for every device message.
 */
export function parseKpTopic(topic: string): KpTopic {
  if (!topic.startsWith(KP1_PREFIX)) throw errors.notKpTopic(topic);
  const appEnd = topic.indexOf('/', KP1_PREFIX.length);
  const extEnd = appEnd < 0 ? -1 : topic.indexOf('/', appEnd + 1);
  const tokenEnd = extEnd < 0 ? -1 : topic.indexOf('/', extEnd + 1);
  // Every level up to the resource path must be present and non-empty (MQTT: `a//b` has an empty level).
  if (tokenEnd < 0 || appEnd === KP1_PREFIX.length || extEnd === appEnd + 1 || tokenEnd === extEnd + 1) {
    throw errors.notKpTopic(topic);
  }
  let resourceEnd = topic.length;
  let requestId: number | undefined;
  const lastSlash = topic.lastIndexOf('/');
  // 1/KP: a last level that is a positive integer is the request ID, not part of the resource path.
  if (lastSlash > tokenEnd && isDigits(topic, lastSlash + 1)) {
    requestId = parseRequestId(topic, lastSlash + 1);
    resourceEnd = lastSlash;
  }
  if (resourceEnd === tokenEnd + 1) throw errors.notKpTopic(topic);
  return {
    appVersionName: topic.slice(KP1_PREFIX.length, appEnd),
    extensionInstance: topic.slice(appEnd + 1, extEnd),
    endpointToken: topic.slice(extEnd + 1, tokenEnd),
    resourcePath: topic.slice(tokenEnd + 1, resourceEnd),
    requestId,
  };
}

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function parseRequestId(topic: string, from: number): number {
  const digits = topic.slice(from);
  // Leading zeros are allowed ("007" is 7); the response topic repeats the level as sent.
  const significant = digits.replace(/^0+/, '');
  if (significant.length === 0 || significant.length > MAX_REQUEST_ID_DIGITS) throw errors.requestIdInvalid(digits);
  const id = Number(significant);
  if (!Number.isSafeInteger(id) || id > MAX_REQUEST_ID) throw errors.requestIdInvalid(digits);
  return id;
}

/** The topic with its token level masked, for logs: tokens are secrets. */
export function redactTopic(topic: string): string {
  if (!topic.startsWith(KP1_PREFIX)) return topic.length > 200 ? topic.slice(0, 200) + '…' : topic;
  const levels = topic.split('/');
  if (levels.length > 3) levels[3] = '***';
  const redacted = levels.join('/');
  return redacted.length > 200 ? redacted.slice(0, 200) + '…' : redacted;
}
