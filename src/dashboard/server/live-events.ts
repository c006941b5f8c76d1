import type { ServerResponse } from 'node:http';
import type { EventBus, TetherEvent } from '../../bus/bus.js';
import { DEFAULT_CONFIG_NAME } from '../../core/control.js';
import { errors } from '../../core/errors.js';
import type { DashboardEvent } from './model.js';

const HEARTBEAT_MS = 20_000;
/**
 * How often an open stream's session or API key is checked again: a sign-out, password change, user
 * deletion or key revocation (on any node) ends the stream within this time, and the browser's
 * reconnection is then refused, which takes it to the sign-in page.
 */
export const RECHECK_MS = 5_000;
const MAX_STREAMS = 200;

/**
 * Strips what browsers need not see (token hashes) and the application, which the stream is already
 * for. Events that are not about one endpoint are not shown: undefined.
 */
export function toDashboardEvent(event: TetherEvent): DashboardEvent | undefined {
  switch (event.type) {
    case 'endpoint.created':
      return { type: event.type, endpointId: event.endpointId, at: event.at };
    case 'endpoint.deleted':
      return { type: event.type, endpointId: event.endpointId, at: event.at };
    case 'metadata.updated':
      return { type: event.type, endpointId: event.endpointId, at: event.at, metadata: event.metadata };
    case 'connectivity.changed':
      return { type: event.type, endpointId: event.endpointId, at: event.at, connected: event.connected };
    case 'token.status-changed':
      return { type: event.type, endpointId: event.endpointId, at: event.at, tokenId: event.tokenId, status: event.status };
    case 'time-series.appended':
      return { type: event.type, endpointId: event.endpointId, at: event.at, latest: event.latest };
    case 'configuration.confirmed':
      // The REST name: "default" for the unnamed configuration, as the ECR answers it.
      return { type: event.type, endpointId: event.endpointId, at: event.at, name: event.name === DEFAULT_CONFIG_NAME ? 'default' : event.name, configId: event.configId, statusCode: event.statusCode };
    case 'command.finished':
      return { type: event.type, endpointId: event.endpointId, at: event.at, commandId: String(event.id), commandType: event.commandType, status: event.status };
    case 'software.reported':
      // Rollout views refresh their counts from it too (throttled in the page): no separate progress event.
      return { type: event.type, endpointId: event.endpointId, at: event.at, version: event.version, statusCode: event.statusCode, reasonPhrase: event.reasonPhrase };
    default:
      return undefined;
  }
}

interface Stream {
  applicationName: string;
  response: ServerResponse;
  stillAllowed: (() => Promise<boolean>) | undefined;
}

/**
 * Server-Sent Events for the dashboard: one bus subscription fans out to every open stream of the
 * event's application.
 */
export class LiveEvents {
  private readonly streams = new Set<Stream>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly recheck: NodeJS.Timeout;
  private rechecking = false;

  constructor(bus: EventBus, options: { recheckMs?: number } = {}) {
    this.unsubscribe = bus.subscribe((event) => this.onEvent(event));
    this.heartbeat = setInterval(() => this.broadcastComment('ping'), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.recheck = setInterval(() => void this.endRevoked(), options.recheckMs ?? RECHECK_MS);
    this.recheck.unref();
  }

  /** Rejects before anything is written, so the caller can still answer with an error. */
  assertCapacity(): void {
    if (this.streams.size >= MAX_STREAMS) throw errors.rateLimited('open live-update streams');
  }

  /** Takes over the response for the lifetime of the stream; `stillAllowed` is checked every RECHECK_MS. */
  open(applicationName: string, response: ServerResponse, stillAllowed?: () => Promise<boolean>): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // EventSource reconnects by itself; 2 s keeps a restart from looking like a long outage.
    response.write('retry: 2000\n: connected\n\n');
    const stream = { applicationName, response, stillAllowed };
    this.streams.add(stream);
    response.on('close', () => this.streams.delete(stream));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    clearInterval(this.recheck);
    for (const stream of this.streams) stream.response.end();
    this.streams.clear();
  }

  private onEvent(event: TetherEvent): void {
    // Every device update passes here: with nobody watching, nothing is serialized.
    if (this.streams.size === 0) return;
    const shown = toDashboardEvent(event);
    if (!shown || !('applicationName' in event)) return;
    const data = `data: ${JSON.stringify(shown)}\n\n`;
    for (const stream of this.streams) {
      if (stream.applicationName === event.applicationName) stream.response.write(data);
    }
  }

  /** Ends the streams whose session or key is no longer valid (or no longer has the role). */
  private async endRevoked(): Promise<void> {
    if (this.rechecking || this.streams.size === 0) return;
    this.rechecking = true;
    try {
      for (const stream of [...this.streams]) {
        if (!stream.stillAllowed) continue;
        // A check that fails (storage unreachable) keeps the stream: the next check decides.
        const allowed = await stream.stillAllowed().catch(() => true);
        if (!allowed && this.streams.delete(stream)) stream.response.end();
      }
    } finally {
      this.rechecking = false;
    }
  }

  private broadcastComment(text: string): void {
    for (const stream of this.streams) stream.response.write(`: ${text}\n\n`);
  }
}
