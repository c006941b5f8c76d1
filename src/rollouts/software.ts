import type { SoftwareRecord } from '../core/software.js';

/**
 * What rollouts need of the software service (src/software/service.ts implements it): the version,
 * what endpoints run, whether a version upgrades what they run, offers and their withdrawal.
 * Narrow on purpose, so the rollout tests can stand in for devices without the MQTT front door.
 */
export interface RolloutSoftware {
  /** Rejects SOFTWARE_NOT_FOUND. */
  get(applicationName: string, version: string): Promise<SoftwareRecord>;
  currentVersions(endpointIds: readonly string[]): Promise<Map<string, string | null>>;
  isUpgradable(record: Pick<SoftwareRecord, 'version' | 'upgradableFrom'>, current: string | null): boolean;
  /** Records the offers durably, then publishes `software.offered` (devices with a live session get it pushed). */
  offer(applicationName: string, version: string, endpointIds: readonly string[], rolloutId: string | null): Promise<void>;
  /** The rollout's open offers end (of these endpoints only, when given). */
  withdraw(rolloutId: string, endpointIds?: readonly string[]): Promise<void>;
}
