import type { Clock } from '../core/clock.js';
import type { TetherError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import { redactTopic } from '../protocol/index.js';
import type { Connection } from './connection.js';
import { LogThrottle } from '../core/log-throttle.js';
import { WindowCounter } from './limits.js';
import { Reason } from './reason-codes.js';

/** How many refusal lines the whole server writes per interval at most, whatever the number of connections. */
const LINES_PER_INTERVAL = 20;
const INTERVAL_MS = 10_000;

export type Refusal = 'request refused' | 'subscription refused';

const QUOTES_TOPIC = new Set(['KP_TOPIC_INVALID', 'SUBSCRIPTION_DENIED']);

interface ConnectionRefusals {
  window: WindowCounter;
  /** Refusals since this connection's last log line, by error code. */
  unlogged: Map<string, number>;
  lastLoggedAt: number;
}

/**
 * Requests a device caused to be refused (unknown tokens, wrong topics, disabled extensions, denied
 * subscriptions). Each connection may have limits.maxRefusals within limits.refusalWindowMs; the next
 * one disconnects it. The log gets at most one line per connection per interval, with counts by
 * code, and the whole server at most LINES_PER_INTERVAL such lines per interval, plus one saying how
 * many it held back: a flood of refusals never becomes a flood of log lines.
 */
export class Refusals {
  private readonly serverLines: LogThrottle;

  constructor(
    private readonly limits: Pick<Limits, 'maxRefusals' | 'refusalWindowMs'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.serverLines = new LogThrottle(clock, INTERVAL_MS, LINES_PER_INTERVAL);
  }

  /** Counts a refusal on the connection; disconnects it past the limit. */
  note(connection: Connection, err: TetherError, topic: string | undefined, what: Refusal = 'request refused', reason?: string): void {
    const state = this.stateOf(connection);
    state.unlogged.set(err.code, (state.unlogged.get(err.code) ?? 0) + 1);
    const count = state.window.add();
    const now = this.clock.now();
    if (now - state.lastLoggedAt >= INTERVAL_MS) this.log(connection, state, err, topic, now, what, reason);
    if (count > this.limits.maxRefusals && !connection.ended) {
      this.log(connection, state, err, topic, now, 'connection closed: too many refused requests (limits.maxRefusals)', reason);
      connection.end(Reason.quotaExceeded, `more than ${this.limits.maxRefusals} refused requests within ${this.limits.refusalWindowMs} ms; fix the requests before reconnecting`);
    }
  }

  private stateOf(connection: Connection): ConnectionRefusals {
    return (connection.refusals ??= { window: new WindowCounter(this.clock, this.limits.refusalWindowMs), unlogged: new Map(), lastLoggedAt: -Infinity }) as ConnectionRefusals;
  }

  private log(connection: Connection, state: ConnectionRefusals, err: TetherError, topic: string | undefined, now: number, what: string, reason: string | undefined): void {
    state.lastLoggedAt = now;
    const counts = Object.fromEntries(state.unlogged);
    state.unlogged.clear();
    const held = this.serverLines.pass();
    if (held === undefined) return;
    this.logger.warn(
      {
        code: err.code,
        status: err.status,
        sessionId: connection.session.id,
        clientId: connection.clientId,
        remoteAddress: connection.remoteAddress,
        ...(topic !== undefined && { topic: redactTopic(topic) }),
        ...(reason !== undefined && { reason }),
        refused: counts,
        ...(held > 0 && { linesHeldBack: held }),
      },
      // These two messages quote the topic or filter, which may hold a token: the redacted one is logged instead.
      QUOTES_TOPIC.has(err.code) ? what : `${what}: ${err.message}`,
    );
  }
}
