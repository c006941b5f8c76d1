/**
 * How the platform speaks first: the contract between the MQTT front door (src/transport/) and the
 * parts that push to devices (configurations, commands). 7/CMP and 11/CEP let the server send a
 * response without a request; Kaa's own clients rely on it (the Python client never subscribes,
 * the Node client subscribes and never asks), so a push reaches every live session that has shown
 * the endpoint's token, subscribed or not.
 */

/** One live session speaking for one endpoint: where pushes for that endpoint go on this node. */
export interface DeviceChannel {
  readonly endpointId: string;
  readonly applicationName: string;
  /** The version the device named in its topics: pushes use the same one. */
  readonly appVersionName: string;
  readonly sessionId: string;
  /**
   * The server address the device reached (TCP and TLS; undefined over WebSocket): a URL the device
   * is sent (a software package) points there unless an operator set a public URL.
   */
  readonly localAddress: string | undefined;
  /** False once the session ended: late pushes are dropped. */
  readonly open: boolean;
  /**
   * 7/CMP and 11/CEP `observe`: false after the device said `observe: false` for that resource on
   * this session; true when it asked to observe, or never said (the server MAY push then).
   */
  observes(instance: string, resource: string): boolean;
  setObserving(instance: string, resource: string, observing: boolean): void;
  /** What this session was last sent for a key (a configuration ID): the same one is never pushed twice. */
  lastSent(key: string): string | undefined;
  noteSent(key: string, value: string): void;
  forgetSent(key: string): void;
}

export interface DeviceLink {
  /** Live channels of the endpoint on this node (usually none or one). */
  channelsOf(endpointId: string): readonly DeviceChannel[];
  /** Every live channel on this node of an application version (a new default configuration). */
  channelsOfVersion(appVersionName: string): DeviceChannel[];
  /**
   * Publishes `payload` on `kp1/<appVersion>/<instance>/<token>/<resourcePath>` to the channel's
   * session: at the QoS of its matching subscription (capped at 1), or at QoS 1 when it has none.
   */
  push(channel: DeviceChannel, instance: string, resourcePath: string, payload: Buffer): void;
  /**
   * A session showed an endpoint's token for the first time (a request, or a subscription below
   * the token): outstanding configurations and commands go to it.
   */
  onChannelOpened(listener: (channel: DeviceChannel) => void): () => void;
}
