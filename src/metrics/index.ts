import client from 'prom-client';
import { Tally } from './tally.js';

/**
 * Prometheus metrics of one node, every series labelled `node`. Parts of Tether call the methods
 * here (the transport: sessions, requests, PUBACK latency; storage: commits; the bus: events);
 * `GET /metrics` (src/ops/) renders the registry. One registry per Tether instance, so tests that
 * run several nodes in one process keep them apart.
 */
export interface TetherMetrics {
  readonly registry: client.Registry;
  /** An MQTT session opened / closed on this node. */
  sessionOpened(): void;
  sessionClosed(): void;
  /** One 1/KP request: extension instance (e.g. `epmx`) and outcome (`ok` or the error code). */
  request(extension: string, outcome: string): void;
  /** Seconds from a PUBLISH arriving to its PUBACK being sent. */
  puback(seconds: number): void;
  /** One storage group commit: how many writes, how long, whether it committed. */
  storageCommit(batch: { size: number; seconds: number; ok: boolean }): void;
  /** A bus event published here or received from another node. */
  busEvent(type: string, direction: 'published' | 'received'): void;
  /** Read at scrape time: endpoints whose sessions this node holds. */
  connectedEndpoints(read: () => number): void;
  /** Read at scrape time: whether writes are failing for a full disk (src/core/storage-full.ts). */
  storageFull(read: () => boolean): void;
  render(): Promise<{ contentType: string; body: string }>;
}

/** Distinct (extension, outcome) pairs counted; devices choose the extension name in their topics. */
const MAX_REQUEST_SERIES = 1000;

export function createMetrics(nodeId: string, options: { processMetrics?: boolean } = {}): TetherMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ node: nodeId });
  if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: registry, prefix: 'tether_process_' });

  let readConnected: () => number = () => 0;
  new client.Gauge({
    name: 'tether_connected_endpoints',
    help: 'Endpoints connected through sessions on this node (9/ELCE)',
    registers: [registry],
    collect() {
      this.set(readConnected());
    },
  });
  let readFull: () => boolean = () => false;
  new client.Gauge({
    name: 'tether_storage_full',
    help: '1 while writes are refused because the filesystem of the data directory is full',
    registers: [registry],
    collect() {
      this.set(readFull() ? 1 : 0);
    },
  });
  const sessions = new client.Gauge({ name: 'tether_mqtt_sessions', help: 'Open MQTT sessions on this node', registers: [registry] });
  // The extension comes from the device's topic: past MAX_REQUEST_SERIES pairs, one series for the rest.
  const requests = new Tally(['extension', 'outcome'], MAX_REQUEST_SERIES, (_, outcome) => ['(other)', outcome === 'ok' ? 'ok' : 'refused']);
  new client.Counter({
    name: 'tether_kp_requests_total',
    help: '1/KP requests by extension instance and outcome (ok or the error code)',
    labelNames: ['extension', 'outcome'],
    registers: [registry],
    collect() {
      requests.flushInto(this);
    },
  });
  const puback = new client.Histogram({
    name: 'tether_puback_latency_seconds',
    help: 'Time from a device PUBLISH to its PUBACK (after the write committed)',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
  const commitSeconds = new client.Histogram({
    name: 'tether_storage_commit_seconds',
    help: 'Duration of one storage group commit',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [registry],
  });
  const batchSize = new client.Histogram({
    name: 'tether_storage_commit_batch_size',
    help: 'Writes per storage group commit',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [registry],
  });
  // Event types are Tether's own (and checked on receipt from other nodes): a small, fixed set.
  const busEvents = new Tally(['type', 'direction'], 1000, (_, direction) => ['(other)', direction]);
  new client.Counter({
    name: 'tether_bus_events_total',
    help: 'Bus events published on this node or received from other nodes',
    labelNames: ['type', 'direction'],
    registers: [registry],
    collect() {
      busEvents.flushInto(this);
    },
  });

  return {
    registry,
    sessionOpened: () => sessions.inc(),
    sessionClosed: () => sessions.dec(),
    request: (extension, outcome) => requests.add(extension, outcome),
    puback: (seconds) => puback.observe(seconds),
    storageCommit(batch) {
      commitSeconds.observe({ outcome: batch.ok ? 'committed' : 'failed' }, batch.seconds);
      batchSize.observe(batch.size);
    },
    busEvent: (type, direction) => busEvents.add(type, direction),
    connectedEndpoints(read) {
      readConnected = read;
    },
    storageFull(read) {
      readFull = read;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
