/**
 * Resource limits that keep one device, connection or client from exhausting the server.
 * One object, one default for each: the config loader fills it from `limits.*` keys and
 * `TETHER_LIMITS_*` variables; the MQTT front door, the registry and the REST API read their part.
 * docs/security.md ("Limits") describes each one, what happens on excess and which test covers it.
 */
export interface Limits {
  /** Largest MQTT packet in bytes (fixed header included); a bigger one ends the connection. */
  maxPacketSize: number;
  /** Longest PUBLISH topic or SUBSCRIBE filter, in characters. */
  maxTopicLength: number;
  /** Most topic levels (`a/b/c` has 3) in a PUBLISH topic or SUBSCRIBE filter. */
  maxTopicLevels: number;
  /** Requests processed at once per connection; further ones wait (the connection is not read meanwhile). Also the MQTT 5 Receive Maximum Tether announces. */
  maxInflight: number;
  /** Requests processed at once by the whole server; beyond it no connection is read until some finish. */
  maxPendingRequests: number;
  /** Refused requests (unknown tokens, wrong topics, disabled extensions...) one connection may send within `refusalWindowMs` before it is disconnected. */
  maxRefusals: number;
  /** The window for `maxRefusals`, in milliseconds. */
  refusalWindowMs: number;
  /** QoS 1/2 replies kept per MQTT session while unacknowledged or while a persistent session's device is away. */
  maxQueuedMessages: number;
  /** Longest a persistent session (3.1.1 clean session 0, or MQTT 5 Session Expiry Interval) is kept without its device, in seconds. */
  maxSessionExpirySeconds: number;
  /** MQTT 5 inbound Topic Alias Maximum announced in CONNACK. */
  maxTopicAliases: number;
  /** Sustained PUBLISH rate per connection, messages per second (token bucket refill); a faster device is read more slowly. */
  publishRate: number;
  /** PUBLISH burst per connection (token bucket size). */
  publishBurst: number;
  /** Open MQTT connections in total; new sockets beyond it are closed at once. */
  maxConnections: number;
  /** Open MQTT connections per client IP address. */
  maxConnectionsPerIp: number;
  /** Milliseconds a new connection has to send CONNECT. */
  connectTimeoutMs: number;
  /** Metadata keys per endpoint. */
  maxMetadataKeys: number;
  /** Bytes of one metadata value serialized as JSON. */
  maxMetadataValueBytes: number;
  /** Nesting depth of one metadata value (`{"a":[1]}` has depth 2). */
  maxMetadataDepth: number;
  /** Largest REST request body in bytes. */
  httpBodyLimit: number;
  /** Token issue requests (POST .../tokens) per client IP per minute. */
  tokenIssuePerMinute: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPacketSize: 256 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 16,
  maxInflight: 100,
  maxPendingRequests: 20_000,
  maxRefusals: 100,
  refusalWindowMs: 10_000,
  maxQueuedMessages: 1000,
  maxSessionExpirySeconds: 7200,
  maxTopicAliases: 32,
  publishRate: 1000,
  publishBurst: 1000,
  maxConnections: 50_000,
  maxConnectionsPerIp: 5_000,
  connectTimeoutMs: 10_000,
  maxMetadataKeys: 1000,
  maxMetadataValueBytes: 64 * 1024,
  maxMetadataDepth: 32,
  httpBodyLimit: 1024 * 1024,
  tokenIssuePerMinute: 60,
});

export type LimitName = keyof Limits;

/** Every limit is an integer with a floor; `publishRate` is the one that may be fractional. */
export const LIMIT_MINIMUMS: Readonly<Record<LimitName, number>> = Object.freeze({
  maxPacketSize: 64,
  maxTopicLength: 16,
  maxTopicLevels: 5,
  maxInflight: 1,
  maxPendingRequests: 1,
  maxRefusals: 1,
  refusalWindowMs: 100,
  maxQueuedMessages: 1,
  maxSessionExpirySeconds: 0,
  maxTopicAliases: 0,
  publishRate: 0.001,
  publishBurst: 1,
  maxConnections: 1,
  maxConnectionsPerIp: 1,
  connectTimeoutMs: 100,
  maxMetadataKeys: 1,
  maxMetadataValueBytes: 16,
  maxMetadataDepth: 1,
  httpBodyLimit: 1024,
  tokenIssuePerMinute: 1,
});

export function withDefaultLimits(partial: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}
