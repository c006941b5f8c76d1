import { MultiMap } from '../core/multimap.js';
import { SmallMap } from '../core/small-map.js';
import type { TokenRecord } from '../core/types.js';
import { flat } from '../core/flat.js';
import type { ClientState } from './client-state.js';

/** What the request path and the kicks need of the connection behind a session. */
export interface SessionOwner {
  readonly clientId: string;
  /** MQTT session state, once CONNECT was accepted: pushes to the device go through it. */
  readonly client: ClientState | undefined;
  /** Ends the connection; under MQTT 5 the device gets a DISCONNECT with the reason code and string. */
  end(reasonCode: number, reason: string): void;
  /** The address of this server the device connected to (TCP and TLS; undefined over WebSocket). */
  readonly localAddress: string | undefined;
}

/**
 * One MQTT connection. Its ID is unique per connection, not the MQTT client ID: when a client
 * reconnects with the same client ID (takeover), the old session detaches and the new one attaches
 * independently, so connectivity (9/ELCE) stays right whichever finishes first.
 */
export class Session {
  /**
   * Per token, the turn of the latest request: it settles once that request has handed itself to
   * its extension. The next request on the token waits for it, so extensions see requests in
   * arrival order while their storage writes still overlap (group commit). Created on first use:
   * most connections sit idle, and 10,000 of them should not each hold empty collections.
   */
  private turns: Map<string, Promise<void>> | undefined;
  /** Requests received and not finished yet. */
  private inflight: Set<Promise<void>> | undefined;
  /** Endpoints this session spoke for, with their `connectivity.attach` calls. */
  readonly attached = new SmallMap<string, Promise<void>>();
  /** SHA-256 hashes of the tokens used on this session (rarely more than one): a suspended or revoked token ends it. */
  tokenHashes: readonly string[] = [];
  /**
   * Tokens this session resolved, by application and plain token: later requests skip hashing and
   * the cache lookup. Never stale: a suspended or revoked token, or a deleted endpoint, ends the
   * session (server.ts `onEvent`), and with them these. The first is kept in fields and compared
   * as it is (a device nearly always uses one token: no key is built per request), more in a map.
   */
  private token: string | undefined;
  private tokenRecord: TokenRecord | undefined;
  private moreTokens: Map<string, TokenRecord> | undefined;
  closed = false;

  constructor(
    readonly id: string,
    readonly owner: SessionOwner,
  ) {}

  get clientId(): string {
    return this.owner.clientId;
  }

  knownToken(applicationName: string, token: string): TokenRecord | undefined {
    const first = this.tokenRecord;
    if (first !== undefined && this.token === token && first.applicationName === applicationName) return first;
    return this.moreTokens?.get(`${applicationName}\n${token}`);
  }

  rememberToken(applicationName: string, token: string, record: TokenRecord): void {
    if (this.closed) return;
    if (this.tokenRecord === undefined || (this.token === token && this.tokenRecord.applicationName === applicationName)) {
      // A copy in one piece: a slice of the topic would keep the whole topic alive with the session.
      this.token = flat(token);
      this.tokenRecord = record;
    } else (this.moreTokens ??= new Map()).set(flat(`${applicationName}\n${token}`), record);
  }

  turnOf(key: string): Promise<void> | undefined {
    return this.turns?.get(key);
  }

  startTurn(key: string, turn: Promise<void>): void {
    (this.turns ??= new Map()).set(key, turn);
  }

  /** Forgets the turn unless a later request on the key took over. */
  forgetTurn(key: string, turn: Promise<void>): void {
    if (this.turns?.get(key) !== turn) return;
    this.turns.delete(key);
    if (this.turns.size === 0) this.turns = undefined;
  }

  forgetTokens(): void {
    this.token = undefined;
    this.tokenRecord = undefined;
    this.moreTokens = undefined;
  }

  track(request: Promise<void>): void {
    (this.inflight ??= new Set()).add(request);
  }

  untrack(request: Promise<void>): void {
    this.inflight?.delete(request);
    if (this.inflight?.size === 0) this.inflight = undefined;
  }

  /** Resolves when every request received so far has finished. */
  async drain(): Promise<void> {
    while (this.inflight) await Promise.all([...this.inflight]);
  }
}

/** The open sessions, indexed by the things that can end them (token status changes, endpoint deletion). */
export class SessionTable {
  private readonly open = new Set<Session>();
  private readonly byTokenHash = new MultiMap<string, Session>();
  private readonly byEndpoint = new MultiMap<string, Session>();

  get size(): number {
    return this.open.size;
  }

  add(session: Session): void {
    this.open.add(session);
  }

  /** Records that the session used a token of an endpoint. Ignored once the session is closed. */
  noteUse(session: Session, tokenHash: string, endpointId: string): void {
    if (session.closed) return;
    if (!session.tokenHashes.includes(tokenHash)) {
      session.tokenHashes = session.tokenHashes.concat(tokenHash);
      this.byTokenHash.add(tokenHash, session);
    }
    if (!session.attached.has(endpointId)) this.byEndpoint.add(endpointId, session);
  }

  remove(session: Session): void {
    session.closed = true;
    session.forgetTokens();
    this.open.delete(session);
    for (const hash of session.tokenHashes) this.byTokenHash.delete(hash, session);
    for (const endpointId of session.attached.keys()) this.byEndpoint.delete(endpointId, session);
  }

  usingToken(tokenHash: string): Session[] {
    return this.byTokenHash.get(tokenHash);
  }

  speakingFor(endpointId: string): Session[] {
    return this.byEndpoint.get(endpointId);
  }

  all(): Session[] {
    return [...this.open];
  }
}
