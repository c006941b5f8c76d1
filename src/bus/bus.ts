import type { Actor, Iso, JsonValue, Metadata, TokenStatus } from '../core/types.js';

/** What happened to a client credential; every change but `reactivated` ends the sessions authenticated with it. */
export type ClientCredentialChange = 'suspended' | 'reactivated' | 'revoked' | 'endpoints-bound' | 'deleted';

/**
 * What happens on one node that others (other nodes, the dashboard's live view, session kicks)
 * must hear about. The in-process bus delivers to local subscribers; a NATS bus would also carry
 * events between nodes, which is why events are plain JSON.
 */
export type TetherEvent =
  | { type: 'endpoint.created'; endpointId: string; applicationName: string; at: Iso }
  | { type: 'endpoint.deleted'; endpointId: string; applicationName: string; at: Iso }
  // actor: who made the change (absent from older publishers: treat as unknown).
  | { type: 'metadata.updated'; endpointId: string; applicationName: string; at: Iso; metadata: Metadata; actor?: Actor }
  | { type: 'connectivity.changed'; endpointId: string; applicationName: string; connected: boolean; at: Iso }
  | {
      type: 'token.status-changed';
      endpointId: string;
      applicationName: string;
      tokenId: string;
      tokenHash: string;
      status: TokenStatus;
      at: Iso;
    }
  | {
      // Data points were stored (coalesced: at most every 250 ms per endpoint, the newest point per series).
      type: 'time-series.appended';
      endpointId: string;
      applicationName: string;
      at: Iso;
      latest: Record<string, { timestamp: Iso; values: Record<string, number | boolean | string> }>;
    }
  | {
      // Not about one endpoint: consumers that expect `endpointId` must skip it.
      type: 'client-credential.changed';
      credentialId: string;
      applicationName: string;
      change: ClientCredentialChange;
      at: Iso;
    }
  // Not about one endpoint: every node's cache of application versions reloads the version.
  | { type: 'app-version.changed'; appVersionName: string; applicationName: string; at: Iso }
  // `appVersionNames`: the versions it had, gone with it (what is kept per version is removed too).
  | { type: 'application.deleted'; applicationName: string; appVersionNames: string[]; at: Iso }
  // An MQTT session began on node `nodeId`: another node holding a session with the same client ID
  // ends it (MQTT session takeover across nodes, src/cluster/takeover.ts).
  | { type: 'session.started'; clientId: string; nodeId: string; at: Iso }
  // Not about one endpoint. A configuration was set or removed: every node pushes it to the live
  // sessions it holds (`endpointIds` null: the version's default, for every endpoint without its own).
  | { type: 'configuration.changed'; applicationName: string; appVersionName: string; name: string; endpointIds: string[] | null; at: Iso }
  // Not about one endpoint. Commands were stored (at most 1,000 to an event): every node pushes
  // them to the live sessions it holds.
  | {
      type: 'commands.created';
      applicationName: string;
      commandType: string;
      requestPayload: JsonValue;
      commands: Array<{ id: number; endpointId: string }>;
      at: Iso;
    }
  // A device reported a command's result (or it expired): a REST call waiting for it answers.
  | { type: 'command.finished'; id: number; endpointId: string; applicationName: string; commandType: string; status: 'EXECUTED' | 'EXPIRED'; at: Iso }
  // A device confirmed (or refused) a configuration: the dashboard's live view refreshes its status.
  | { type: 'configuration.confirmed'; endpointId: string; applicationName: string; appVersionName: string; name: string; configId: string; statusCode: number; at: Iso }
  // A device reported on `cmx_ota` (7/CMP applied) the software version it runs, or that an update
  // failed (statusCode outside 2xx): rollouts count it, the dashboard refreshes.
  | { type: 'software.reported'; endpointId: string; applicationName: string; appVersionName: string; version: string; statusCode: number; reasonPhrase: string | null; at: Iso }
  // Not about one endpoint. A version was offered to these endpoints (at most 1,000 to an event, by
  // a rollout): every node pushes it to the live sessions it holds.
  | { type: 'software.offered'; applicationName: string; version: string; rolloutId: string | null; endpointIds: string[]; at: Iso };

export type TetherEventType = TetherEvent['type'];

export type EventHandler = (event: TetherEvent) => void;

export interface SubscribeOptions {
  /**
   * Only events published on this node, not those other nodes publish: for a subscriber that
   * writes each event to the shared database, where every node writing every node's events would
   * store each N times (metadata history).
   */
  localOnly?: boolean;
}

export interface EventBus {
  readonly kind: string;
  /** Resolves once the event is handed to the bus; local handlers may run later. */
  publish(event: TetherEvent): Promise<void>;
  /** Returns a function that removes the handler. A throwing handler must not affect others. */
  subscribe(handler: EventHandler, options?: SubscribeOptions): () => void;
  close(): Promise<void>;
}
