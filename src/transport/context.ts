import type { MqttClientAuth } from '../client-auth/index.js';
import type { Clock } from '../core/clock.js';
import type { Limits } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import type { Services } from '../core/services.js';
import type { TokenRecord } from '../core/types.js';
import type { ClientState } from './client-state.js';
import type { Connection } from './connection.js';
import type { LogThrottle } from '../core/log-throttle.js';
import type { Pressure } from './pressure.js';
import type { Refusals } from './refusals.js';
import type { RequestHandler } from './requests.js';
import type { Session, SessionTable } from './session.js';
import type { Channels } from './channels.js';
import type { TransportHooks } from './server.js';
import type { SubscriptionIndex } from './subscriptions.js';

/** What every packet handler (packets/*.ts) works with: the server's shared state and services. */
export interface ServerContext {
  services: Services;
  logger: Logger;
  limits: Limits;
  clock: Clock;
  clientAuth: MqttClientAuth | undefined;
  sessions: SessionTable;
  /** Live channels for pushes to devices; a subscription below a token opens one. */
  channels: Channels;
  subscriptions: SubscriptionIndex;
  /** MQTT session states by client ID: connected ones and persistent ones whose device is away. */
  clients: Map<string, ClientState>;
  /** Connected connections by client ID: a second CONNECT with the same ID takes over. */
  live: Map<string, Connection>;
  requests: RequestHandler;
  pressure: Pressure;
  refusals: Refusals;
  /** Connections closed for an update Tether failed to store (3.1.1): one log line per interval. */
  unacknowledgedLog: LogThrottle;
  /** Resolves the token a SUBSCRIBE names; rejects when the session may not have its responses. */
  entitlement(session: Session, appVersionName: string, extensionInstance: string, token: string): Promise<TokenRecord>;
  /** True once the server is closing: new CONNECTs are refused. */
  closing(): boolean;
  hooks: TransportHooks;
}
