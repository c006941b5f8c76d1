/** Messages between the orchestrator (main thread) and the load-generator worker. */
import type { LatencySummary } from '../stats.js';
import type { Target } from './device.js';

interface Base {
  target: Target;
  /** `kp1/<appVersion>/epmx`; the device token and resource follow. */
  prefix: string;
  tokens: string[];
  /** Resource path after the token (default `update/keys`). */
  resource?: string;
  /** What each publish carries (default: a small 10/EPMP update). */
  body?: 'metadata' | 'dcx-batch';
}

export type Command =
  /** Closed loop: every device keeps `window` QoS 1 updates in flight. */
  | (Base & { kind: 'closed'; window: number; warmupMs: number; durationMs: number })
  /** Open loop: updates at a fixed total `rate`/s, spread round-robin over the devices. */
  | (Base & { kind: 'paced'; rate: number; warmupMs: number; durationMs: number })
  /**
   * Connects one idle device per token and keeps them open until `idle-close`. Stops starting
   * new connections after `deadlineMs` so a slow broker cannot stall the whole run.
   */
  | (Base & { kind: 'idle-open'; concurrency: number; deadlineMs: number })
  | { kind: 'idle-close' }
  /**
   * Connect, subscribe, one request, response, disconnect, with `concurrency` devices in flight.
   * `echo`: publish to the response topic itself, for a plain broker that has nobody to answer.
   */
  | (Base & { kind: 'connect-rate'; concurrency: number; durationMs: number; maxCount: number; echo: boolean })
  /**
   * Well-behaved devices (one per token) send requests at `rate`/s in all while `flooders`
   * connections flood QoS 0 publishes to unknown tokens; a new device connects every second.
   */
  | (Base & { kind: 'flood'; rate: number; flooders: number; warmupMs: number; durationMs: number })
  /**
   * Issue 13: one device per token sends one request first (`mode` cex: a command request of
   * `commandType`; cmx: observe the default configuration), then answers every pushed command or
   * configuration at once. Stays open until `control-close`. `prefix` is `kp1/<appVersion>`.
   */
  | (Base & {
      kind: 'control-open';
      mode: 'cex' | 'cmx' | 'ota';
      commandType: string;
      concurrency: number;
      deadlineMs: number;
      /**
       * Issue 14, mode ota: the first request reports `runs` on `…/cmx_ota/<token>/config/json/1`
       * (a configId in the request is the version the device runs); a pushed version is answered
       * on `applied/json`, as a failure (500) by `failPercent` % of the devices (spread evenly
       * over the fleet), as success by the others.
       */
      runs?: string;
      failPercent?: number;
    })
  /** Counters of the open control fleet; `reset` zeroes them after reading. */
  | { kind: 'control-stats'; reset: boolean }
  | { kind: 'control-close' }
  /** An offline device reconnects and requests its commands of `commandType`; done at `expect` distinct ones. */
  | { kind: 'backlog-fetch'; target: Target; prefix: string; token: string; commandType: string; expect: number; timeoutMs: number };

/** What the control fleet did; times are wall-clock milliseconds (performance.timeOrigin + now). */
export interface ControlStats {
  open: number;
  /** Commands (or configurations) pushed to the fleet. */
  pushes: number;
  /** Results (or applied reports) published. */
  answers: number;
  /** PUBACKs of those: each is sent once Tether stored the answer. */
  acked: number;
  firstPushAt: number;
  lastPushAt: number;
  lastAckAt: number;
  malformed: number;
}

export interface BacklogFetchResult {
  /** Wall-clock milliseconds when the TCP connect started. */
  startedAt: number;
  connackMs: number;
  /** TCP connect → the last outstanding command received. */
  allMs: number;
  received: number;
  viaReply: number;
  viaPush: number;
}

export interface PublishResult {
  acked: number;
  seconds: number;
  rate: number;
  latency: LatencySummary;
  /** Updates never acknowledged within the drain timeout. */
  lost: number;
  /** Packet IDs reused while still in flight (open loop fell too far behind). */
  overflow: number;
  disconnects: number;
  /**
   * CPU the bench process used, in cores (1.0 = one core busy). The orchestrator thread is idle
   * while a scenario runs, so this is the generator: near 1 means it, not the broker, was the limit.
   */
  generatorCpu: number;
}

export interface IdleResult {
  open: number;
  failed: number;
  seconds: number;
  firstError?: string;
}

export interface ConnectRateResult {
  completed: number;
  failed: number;
  errorResponses: number;
  seconds: number;
  rate: number;
  latency: LatencySummary;
  generatorCpu: number;
  firstError?: string;
}

export interface FloodResult {
  /** Requests the well-behaved devices sent per second, and replies they got per second. */
  offeredRate: number;
  answeredRate: number;
  /** Replies that were /error (a well-behaved device should get none). */
  refused: number;
  replyLatency: LatencySummary;
  /** CONNECT→CONNACK of a new device, once a second during the flood. */
  connack: LatencySummary;
  connackFailures: number;
  floodConnections: number;
  floodMb: number;
  seconds: number;
  generatorCpu: number;
}

export type Reply = { ok: true; result: unknown } | { ok: false; error: string };

export function cpuShare(since: NodeJS.CpuUsage, seconds: number): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6 / seconds;
}
