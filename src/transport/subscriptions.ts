import type { ClientState, GrantedSubscription } from './client-state.js';
import { addTo, removeFrom } from './session.js';

/**
 * Who holds which subscription, indexed the three ways Tether asks: by response scope (does anyone
 * besides the requester get this reply?), by token hash (a suspended or revoked token ends them) and
 * by endpoint (deleting the endpoint ends them). Persistent states stay indexed while their device is away.
 */
export class SubscriptionIndex {
  private readonly byScope = new Map<string, Set<ClientState>>();
  private readonly byTokenHash = new Map<string, Set<ClientState>>();
  private readonly byEndpoint = new Map<string, Set<ClientState>>();

  /** Grants `subscription`, replacing the state's subscription with the same filter (MQTT 3.8.4). */
  add(state: ClientState, subscription: GrantedSubscription): void {
    const before = state.subscriptions ?? [];
    const at = before.findIndex((s) => s.filter === subscription.filter);
    state.subscriptions = at >= 0 ? before.map((s, i) => (i === at ? subscription : s)) : [...before, subscription];
    addTo(this.byScope, subscription.scope, state);
    addTo(this.byTokenHash, subscription.tokenHash, state);
    addTo(this.byEndpoint, subscription.endpointId, state);
    if (at >= 0) this.unindexGone(state, before);
  }

  /** False when the state had no subscription with that filter. */
  remove(state: ClientState, filter: string): boolean {
    const before = state.subscriptions ?? [];
    if (!before.some((s) => s.filter === filter)) return false;
    this.removeWhere(state, (s) => s.filter === filter);
    return true;
  }

  removeAll(state: ClientState): void {
    const before = state.subscriptions ?? [];
    state.subscriptions = undefined;
    this.unindexGone(state, before);
  }

  /** Drops the state's subscriptions under a token (it was suspended or revoked) or an endpoint (deleted). */
  removeWhere(state: ClientState, matches: (s: GrantedSubscription) => boolean): void {
    const before = state.subscriptions ?? [];
    const kept = before.filter((s) => !matches(s));
    state.subscriptions = kept.length > 0 ? kept : undefined;
    this.unindexGone(state, before);
  }

  inScope(scope: string): ReadonlySet<ClientState> | undefined {
    return this.byScope.get(scope);
  }

  withToken(tokenHash: string): ClientState[] {
    return [...(this.byTokenHash.get(tokenHash) ?? [])];
  }

  forEndpoint(endpointId: string): ClientState[] {
    return [...(this.byEndpoint.get(endpointId) ?? [])];
  }

  /** Removes the state from index keys none of its subscriptions (after a change) uses any more. */
  private unindexGone(state: ClientState, before: readonly GrantedSubscription[]): void {
    const now = state.subscriptions ?? [];
    for (const old of before) {
      if (!now.some((s) => s.scope === old.scope)) removeFrom(this.byScope, old.scope, state);
      if (!now.some((s) => s.tokenHash === old.tokenHash)) removeFrom(this.byTokenHash, old.tokenHash, state);
      if (!now.some((s) => s.endpointId === old.endpointId)) removeFrom(this.byEndpoint, old.endpointId, state);
    }
  }
}
