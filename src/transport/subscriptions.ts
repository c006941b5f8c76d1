import type { ClientState, GrantedSubscription } from './client-state.js';
import { MultiMap } from '../core/multimap.js';

/**
 * Who holds which subscription, indexed the three ways Tether asks: by response scope (does anyone
 * besides the requester get this reply?), by token hash (a suspended or revoked token ends them) and
 * by endpoint (deleting the endpoint ends them). Persistent states stay indexed while their device is away.
 */
export class SubscriptionIndex {
  private readonly byScope = new MultiMap<string, ClientState>();
  private readonly byTokenHash = new MultiMap<string, ClientState>();
  private readonly byEndpoint = new MultiMap<string, ClientState>();

  /** Grants `subscription`, replacing the state's subscription with the same filter (MQTT 3.8.4). */
  add(state: ClientState, subscription: GrantedSubscription): void {
    const before = state.subscriptions ?? [];
    const at = before.findIndex((s) => s.filter === subscription.filter);
    // concat, not a spread: a spread grows the array by pushing and leaves ~17 slots for one or two.
    state.subscriptions = at >= 0 ? before.map((s, i) => (i === at ? subscription : s)) : before.concat(subscription);
    this.byScope.add(subscription.scope, state);
    this.byTokenHash.add(subscription.tokenHash, state);
    this.byEndpoint.add(subscription.endpointId, state);
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

  /** States with a subscription in the scope; most replies have none, and cost one lookup. */
  inScope(scope: string): ClientState[] | undefined {
    return this.byScope.has(scope) ? this.byScope.get(scope) : undefined;
  }

  withToken(tokenHash: string): ClientState[] {
    return this.byTokenHash.get(tokenHash);
  }

  forEndpoint(endpointId: string): ClientState[] {
    return this.byEndpoint.get(endpointId);
  }

  /** Removes the state from index keys none of its subscriptions (after a change) uses any more. */
  private unindexGone(state: ClientState, before: readonly GrantedSubscription[]): void {
    const now = state.subscriptions ?? [];
    for (const old of before) {
      if (!now.some((s) => s.scope === old.scope)) this.byScope.delete(old.scope, state);
      if (!now.some((s) => s.tokenHash === old.tokenHash)) this.byTokenHash.delete(old.tokenHash, state);
      if (!now.some((s) => s.endpointId === old.endpointId)) this.byEndpoint.delete(old.endpointId, state);
    }
  }
}
