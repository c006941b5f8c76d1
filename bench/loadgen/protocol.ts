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
  | (Base & { kind: 'connect-rate'; concurrency: number; durationMs: number; maxCount: number; echo: boolean });

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

export type Reply = { ok: true; result: unknown } | { ok: false; error: string };

export function cpuShare(since: NodeJS.CpuUsage, seconds: number): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6 / seconds;
}
