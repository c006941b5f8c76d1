import type { ClientAuthConfig } from '../client-auth/types.js';
import type { Limits } from '../core/limits.js';
import type { DeclaredApplication } from '../core/services.js';
import type { TimeSeriesConfig } from './time-series.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * SQLite `PRAGMA synchronous`. `full` makes every acknowledged write survive a power loss; `normal`
 * survives a process crash only. Weaker modes would break the "nothing acknowledged is lost" promise.
 */
export type SqliteSynchronous = 'full' | 'normal';
export const SQLITE_SYNCHRONOUS: readonly SqliteSynchronous[] = ['full', 'normal'];

/** Embedded SQLite (one node), or a PostgreSQL database several nodes share (`--database-url`). */
export type StorageConfig = { kind: 'sqlite'; synchronous: SqliteSynchronous } | { kind: 'postgres'; synchronous: SqliteSynchronous; url: string };
export const STORAGE_KINDS = ['sqlite', 'postgres'] as const;

/** The in-process bus (one node), or NATS between nodes (`--nats-url`). */
export type BusConfig = { kind: 'memory' } | { kind: 'nats'; url: string };
export const BUS_KINDS = ['memory', 'nats'] as const;

/** Everything `tether start` needs, validated and with defaults applied. */
export interface TetherConfig {
  /** Address both servers bind to. */
  host: string;
  /** 0 picks a free port (tests). */
  mqttPort: number;
  httpPort: number;
  /** Absolute path; holds tether.db and admin-api-key. */
  dataDir: string;
  logLevel: LogLevel;
  /** From TETHER_ADMIN_API_KEY or the file; when absent one is generated and kept in the data dir. */
  adminApiKey?: string;
  /** Dashboard sign-in password (TETHER_ADMIN_PASSWORD). */
  adminPassword?: string;
  storage: StorageConfig;
  bus: BusConfig;
  /** Names this process among the nodes of a cluster (TETHER_NODE_ID); checked by `nodeId` in config/values.ts. */
  nodeId: string;
  /** Resource limits (core/limits.ts), each from `limits.<name>` / TETHER_LIMITS_<NAME> or its default. */
  limits: Limits;
  /** Applications and versions that must exist after start (created or updated). */
  applications: DeclaredApplication[];
  /** Time series definitions (Kaa's `kaa:` block) and retention (`timeSeries:`); docs/time-series.md. */
  timeSeries?: TimeSeriesConfig;
  /** Absolute path of the config file that was read, if any. */
  configFile?: string;
  /** MQTT client authentication; anonymous when absent. */
  clientAuth?: ClientAuthConfig;
  /** MQTT over TLS and HTTPS (with WSS); absent unless a certificate and key are configured. */
  tls?: TlsConfig;
  /** Days audit entries and metadata history are kept (TETHER_AUDIT_RETENTION_DAYS; default 90). */
  auditRetentionDays?: number;
  /** Commands (Kaa CEX): how long finished ones are kept, and the TTL of those sent without one (docs/control.md). */
  commands?: { retentionDays?: number; defaultTtlSeconds?: number };
  /** Software packages (docs/software.md): the upload limit and how long a device's signed URL lives. */
  packages?: { maxMb?: number; urlTtlSeconds?: number };
  /** How devices reach this server over HTTP(S) (TETHER_PUBLIC_URL), without a trailing slash. */
  publicUrl?: string;
}

export interface TlsConfig {
  /** Absolute paths of PEM files, re-read on SIGHUP. */
  cert: string;
  key: string;
  /** CA bundle for client certificates; when set, clients are asked for one (mutual TLS). */
  ca?: string;
  /** MQTT over TLS port (mqtts); 0 picks a free port. */
  mqttPort: number;
  /** HTTPS port: dashboard, REST API and MQTT over secure WebSocket (/ws). */
  httpsPort: number;
}
