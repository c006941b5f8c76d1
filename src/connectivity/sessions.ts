import { MultiMap } from '../core/multimap.js';
import { SmallMap } from '../core/small-map.js';

/**
 * 9/ELCE: which sessions speak for which endpoints. A gateway session can speak for several
 * endpoints and an endpoint can have several sessions (e.g. during an MQTT session takeover the new
 * session attaches before the old one detaches). Pure bookkeeping; reports 0 <-> 1 transitions.
 */
export class SessionTable {
  /** A SmallMap per session: nearly every session speaks for one endpoint. */
  private readonly endpointsBySession = new Map<string, SmallMap<string, string>>();
  private readonly sessionsByEndpoint = new MultiMap<string, string>();

  /** Returns true when this made the endpoint connected (its first session). */
  attach(sessionId: string, endpointId: string, applicationName: string): boolean {
    let endpoints = this.endpointsBySession.get(sessionId);
    if (!endpoints) this.endpointsBySession.set(sessionId, (endpoints = new SmallMap()));
    if (endpoints.has(endpointId)) return false;
    endpoints.set(endpointId, applicationName);
    this.sessionsByEndpoint.add(endpointId, sessionId);
    return this.sessionsByEndpoint.count(endpointId) === 1;
  }

  /** Removes the session; returns the endpoints it left without any session. */
  detachSession(sessionId: string): Array<{ endpointId: string; applicationName: string }> {
    const endpoints = this.endpointsBySession.get(sessionId);
    if (!endpoints) return [];
    this.endpointsBySession.delete(sessionId);
    const disconnected: Array<{ endpointId: string; applicationName: string }> = [];
    for (const [endpointId, applicationName] of endpoints) {
      if (!this.sessionsByEndpoint.has(endpointId)) continue;
      this.sessionsByEndpoint.delete(endpointId, sessionId);
      if (!this.sessionsByEndpoint.has(endpointId)) disconnected.push({ endpointId, applicationName });
    }
    return disconnected;
  }

  /** Forgets the endpoint (it was deleted); its sessions stay for their other endpoints. */
  forgetEndpoint(endpointId: string): void {
    for (const sessionId of this.sessionsByEndpoint.get(endpointId)) {
      const endpoints = this.endpointsBySession.get(sessionId);
      endpoints?.delete(endpointId);
      if (endpoints?.size === 0) this.endpointsBySession.delete(sessionId);
    }
    this.sessionsByEndpoint.deleteKey(endpointId);
  }

  sessionsOf(endpointId: string): string[] {
    return this.sessionsByEndpoint.get(endpointId);
  }

  connectedEndpoints(): Array<{ endpointId: string; applicationName: string }> {
    const result: Array<{ endpointId: string; applicationName: string }> = [];
    for (const endpointId of this.sessionsByEndpoint.keys()) {
      const first = this.sessionsByEndpoint.get(endpointId)[0];
      const applicationName = first === undefined ? undefined : this.endpointsBySession.get(first)?.get(endpointId);
      if (applicationName !== undefined) result.push({ endpointId, applicationName });
    }
    return result;
  }

  clear(): void {
    this.endpointsBySession.clear();
    this.sessionsByEndpoint.clear();
  }
}
