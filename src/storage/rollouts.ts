import type { DeviceOutcome, RolloutCounts, RolloutDevice, RolloutDeviceState, RolloutRecord, RolloutState, TimelinePoint } from '../core/rollouts.js';
import type { Iso, Page } from '../core/types.js';

/** A device as a rollout starts with it: to be offered, or skipped with the reason. */
export interface NewRolloutDevice {
  endpointId: string;
  state: 'pending' | 'skipped';
  reason: string | null;
}

export interface RolloutQuery {
  applicationName?: string;
  states?: RolloutState[];
  offset: number;
  limit: number;
}

export interface RolloutDeviceQuery {
  rolloutId: string;
  states?: RolloutDeviceState[];
  offset: number;
  limit: number;
}

/**
 * Rollouts and the state of each device in them (docs/rollouts.md). Kept apart from
 * the other stores like `ControlStorage`: a fleet's outcomes group-commit on their own connection.
 * Every backend passes test/storage/rollouts-conformance.ts.
 *
 * Nodes may race on the same rows (a pause through one node while another drives the rollout):
 * every state rule is a condition of one statement (`from` states, `offered` devices only), so the
 * first writer wins and the other learns it from the answer.
 *
 * Durability: a returned promise resolves only after the change is committed.
 * Calls after `close()` reject with UNAVAILABLE.
 */
export interface RolloutStorage {
  readonly kind: string;
  init(): Promise<void>;
  close(): Promise<void>;

  /** Stores the rollout and its devices (in the order given, the order they are offered) atomically. */
  insertRollout(record: RolloutRecord, devices: readonly NewRolloutDevice[]): Promise<void>;
  getRollout(rolloutId: string): Promise<RolloutRecord | undefined>;
  /** Newest first. */
  listRollouts(query: RolloutQuery): Promise<Page<RolloutRecord>>;
  /**
   * Moves the rollout to `to` when its state is one of `from`; resolves the record after the change,
   * or undefined when it was in another state (or does not exist) and nothing changed.
   */
  setState(rolloutId: string, from: readonly RolloutState[], to: RolloutState, reason: string | null, at: Iso): Promise<RolloutRecord | undefined>;

  counts(rolloutId: string): Promise<RolloutCounts>;
  /** The next pending devices, in the rollout's order. */
  pendingDevices(rolloutId: string, limit: number): Promise<string[]>;
  /** Devices offered that have not reported yet, with when they were offered. */
  openOffers(rolloutId: string): Promise<Array<{ endpointId: string; offeredAt: Iso }>>;
  /** Pending devices become offered at `at`; resolves the ones that changed. */
  markOffered(rolloutId: string, endpointIds: readonly string[], at: Iso): Promise<string[]>;
  /**
   * Records what devices reported: an `offered` device takes the outcome; a `pending` one only
   * `applied` (it got the version some other way and needs no offer) or `skipped` (its endpoint
   * was deleted). Anything else stays as it is (finished and skipped devices are final). Resolves
   * the outcomes that changed a device.
   */
  finishDevices(rolloutId: string, outcomes: readonly DeviceOutcome[]): Promise<DeviceOutcome[]>;
  /** Devices offered before `offeredBefore` that are still silent become `timed_out` with the reason; resolves their IDs. */
  timeOut(rolloutId: string, offeredBefore: Iso, at: Iso, reason: string): Promise<string[]>;
  /** In the rollout's order. */
  queryDevices(query: RolloutDeviceQuery): Promise<Page<RolloutDevice>>;
  /** Per minute (by `finishedAt`), oldest first, minutes with nothing finished left out. */
  timeline(rolloutId: string): Promise<TimelinePoint[]>;

  // --- which node drives a rollout (docs/rollouts.md, "Across nodes") -------------------
  /**
   * Open rollouts (running or paused) with no driver or whose driver's lease ended before `now`,
   * and those `nodeId` already drives, become driven by `nodeId` until `leaseUntil`; resolves
   * their IDs. One statement: two nodes never both win a rollout.
   */
  claimRollouts(nodeId: string, now: Iso, leaseUntil: Iso): Promise<string[]>;
  /** Gives up driving (stop, or the rollout is over). */
  releaseRollout(rolloutId: string, nodeId: string): Promise<void>;
}
