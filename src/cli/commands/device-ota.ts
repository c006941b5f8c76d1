/**
 * `tether device --ota`: a device that updates its software the way the official Kaa clients speak
 * cmx_ota (7/CMP on the OTA instance): it reports the version it runs on
 * `…/cmx_ota/<token>/applied/json` {"configId":"<version>"} (Node: reportCurrentSoftwareVersion),
 * asks on `…/cmx_ota/<token>/config/json/<requestId>` {} (Node: getSoftwareUpdate) and listens on
 * `…/config/json/+` for the answer and for pushes. Offered a version, it downloads the package
 * (resuming with Range when the link breaks), checks size and SHA-256, and reports the new version
 * or a failure {configId, statusCode: 500, reasonPhrase}.
 */
import { createHash } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { CMX_OTA } from '../../core/software.js';
import { sleepUnlessAborted } from '../sleep.js';
import { refusesToken } from './device-control.js';

/** Before the second attempt of a download; doubled before each one after (a bad link needs a moment). */
const RETRY_FIRST_MS = 250;

export interface OtaOptions {
  token: string;
  appVersion: string;
  qos: 0 | 1;
  /** The version the device runs at the start; null: it never ran a known one (reports nothing). */
  currentVersion: string | null;
  /** Share of updates that fail on purpose (0..1), after the download, to exercise abort rules. */
  failRate: number;
  /** Breaks the first download of each package after this many bytes (then resumes with Range). */
  interruptAt?: number | undefined;
  /** Attempts per download (the first and the resumptions). */
  downloadAttempts: number;
  random?: () => number;
}

/** What happened to one offer, for the caller's log and summary. */
export type OtaEvent =
  | { kind: 'reported'; version: string; topic: string }
  | { kind: 'asked'; topic: string }
  | { kind: 'offered'; version: string; topic: string; config: unknown }
  | { kind: 'up-to-date'; topic: string }
  | { kind: 'downloading'; url: string; from: number; size: number | undefined }
  | { kind: 'download-broken'; received: number; problem: string }
  | { kind: 'applied'; version: string; topic: string; downloaded: boolean }
  | { kind: 'failed'; version: string; reason: string; topic: string }
  | { kind: 'refused'; topic: string; text: string };

interface PackageRef {
  url: string;
  sha256?: string;
  size?: number;
  fileName?: string;
}

/** What a device keeps across its connections: the version it runs and the offers it decided. */
export interface OtaDeviceState {
  current: string | null;
  /** Versions it applied or failed: an offer of them again is not taken twice. */
  finished: Set<string>;
}

/**
 * One device on an open connection, until `signal` aborts ('stopped') or the connection is lost
 * ('lost': the caller reconnects with the same `state`). 'refused' when the server refuses the
 * token: no point going on.
 */
export async function runOtaDevice(
  client: MqttClient,
  o: OtaOptions,
  onEvent: (e: OtaEvent) => void,
  signal: AbortSignal,
  state: OtaDeviceState = { current: o.currentVersion, finished: new Set() },
): Promise<'stopped' | 'refused' | 'lost'> {
  const base = `kp1/${o.appVersion}/${CMX_OTA}/${o.token}`;
  const random = o.random ?? Math.random;
  let requestId = Math.floor(random() * 1000) + 1;
  /** The version being downloaded or just decided, so a push and a reply for it count once. */
  let busyWith: string | undefined;
  const { finished } = state;

  let finish: (end: 'stopped' | 'refused' | 'lost') => void = () => {};
  const ended = new Promise<'stopped' | 'refused' | 'lost'>((resolve) => (finish = resolve));
  const onAbort = () => finish('stopped');
  const onClose = () => finish(signal.aborted ? 'stopped' : 'lost');
  signal.addEventListener('abort', onAbort);
  client.on('close', onClose);

  const publish = (topic: string, body: unknown) => client.publishAsync(topic, JSON.stringify(body), { qos: o.qos }).catch(() => undefined);

  const report = async (body: { configId: string; statusCode?: number; reasonPhrase?: string }) => {
    // No request ID, as reportCurrentSoftwareVersion publishes it. QoS 1 whatever --qos: its PUBACK
    // comes once the server took the report, so the request that follows is answered for this version.
    const topic = `${base}/applied/json`;
    await client.publishAsync(topic, JSON.stringify(body), { qos: 1 }).catch(() => undefined);
    return topic;
  };

  const onOffer = async (topic: string, text: string) => {
    let body: { configId?: unknown; config?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return onEvent({ kind: 'refused', topic, text: `not JSON: ${text}` });
    }
    // {} (or the empty 7/CMP pair): nothing to update to.
    if (typeof body.configId !== 'string' || body.configId === '') return onEvent({ kind: 'up-to-date', topic });
    const version = body.configId;
    if (version === state.current || version === busyWith || finished.has(version)) return;
    busyWith = version;
    onEvent({ kind: 'offered', version, topic, config: body.config });
    try {
      const problem = await install(body.config, o, random, onEvent, signal);
      if (signal.aborted) return;
      if (problem !== undefined) {
        finished.add(version);
        const at = await report({ configId: version, statusCode: 500, reasonPhrase: problem });
        onEvent({ kind: 'failed', version, reason: problem, topic: at });
        return;
      }
      state.current = version;
      finished.add(version);
      const at = await report({ configId: version });
      onEvent({ kind: 'applied', version, topic: at, downloaded: packageOf(body.config) !== undefined });
    } finally {
      busyWith = undefined;
    }
  };

  client.on('message', (topic: string, payload: Buffer) => {
    if (!topic.startsWith(`${base}/`)) return;
    const text = payload.toString('utf8');
    if (topic.startsWith(`${base}/config/json/`) && topic.endsWith('/status')) void onOffer(topic, text);
    else if (topic.endsWith('/error')) {
      onEvent({ kind: 'refused', topic, text });
      if (refusesToken(text)) finish('refused');
    }
  });

  try {
    // Like the Node client: listen on the request topics' children (`/status`, `/error`) and on
    // the push topic. Tether pushes without a subscription too; this is for other brokers.
    const id = requestId++;
    await client
      .subscribeAsync([`${base}/config/json/+`, `${base}/config/json/${id}/+`, `${base}/applied/json/+`], { qos: o.qos })
      .catch(() => undefined);
    if (state.current !== null) onEvent({ kind: 'reported', version: state.current, topic: await report({ configId: state.current }) });
    const ask = `${base}/config/json/${id}`;
    await publish(ask, {});
    onEvent({ kind: 'asked', topic: ask });
    return await ended;
  } finally {
    signal.removeEventListener('abort', onAbort);
    client.removeListener('close', onClose);
  }
}

/** Installs what was offered: downloads and checks the package. Returns why it failed, if it did. */
async function install(config: unknown, o: OtaOptions, random: () => number, onEvent: (e: OtaEvent) => void, signal: AbortSignal): Promise<string | undefined> {
  const pkg = packageOf(config);
  if (pkg !== undefined) {
    const problem = await downloadAndCheck(pkg, o, onEvent, signal);
    if (problem !== undefined) return problem;
  }
  if (o.failRate > 0 && random() < o.failRate) return 'simulated failure (--fail-rate)';
  return undefined;
}

function packageOf(config: unknown): PackageRef | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const p = (config as { package?: unknown }).package;
  if (typeof p !== 'object' || p === null || typeof (p as { url?: unknown }).url !== 'string') return undefined;
  return p as PackageRef;
}

/**
 * Streams the package through SHA-256 without keeping it. A transfer that breaks resumes from the
 * bytes received with `Range` (and `If-Range`, so a package replaced meanwhile starts over).
 */
export async function downloadAndCheck(pkg: PackageRef, o: Pick<OtaOptions, 'interruptAt' | 'downloadAttempts'>, onEvent: (e: OtaEvent) => void, signal: AbortSignal): Promise<string | undefined> {
  let hash = createHash('sha256');
  let received = 0;
  let etag: string | undefined;
  let interrupt = o.interruptAt;
  let lastProblem = '';
  for (let attempt = 1; attempt <= o.downloadAttempts; attempt++) {
    if (attempt > 1) await sleepUnlessAborted(RETRY_FIRST_MS * 2 ** (attempt - 2), signal);
    if (signal.aborted) return 'stopped';
    const headers: Record<string, string> = {};
    if (received > 0) {
      headers['range'] = `bytes=${received}-`;
      if (etag !== undefined) headers['if-range'] = etag;
    }
    onEvent({ kind: 'downloading', url: pkg.url, from: received, size: pkg.size });
    let response: Response;
    try {
      response = await fetch(pkg.url, { headers, signal });
    } catch (err) {
      lastProblem = `cannot reach ${new URL(pkg.url).host} (${causeOf(err)})`;
      onEvent({ kind: 'download-broken', received, problem: lastProblem });
      continue;
    }
    if (response.status === 200 && received > 0) {
      // The server sends the whole file again (no Range, or the package changed): start over.
      hash = createHash('sha256');
      received = 0;
    } else if (response.status !== 200 && response.status !== 206) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      return `download refused: HTTP ${response.status}${text ? ` ${text}` : ''}`;
    }
    etag = response.headers.get('etag') ?? etag;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        let piece = chunk;
        if (interrupt !== undefined && received + piece.length > interrupt) {
          // The simulated bad link: keep what came before the break, drop the connection.
          piece = piece.subarray(0, interrupt - received);
          hash.update(piece);
          received += piece.length;
          interrupt = undefined;
          throw new Error('simulated broken link (--interrupt-at)');
        }
        hash.update(piece);
        received += piece.length;
      }
    } catch (err) {
      lastProblem = `the transfer broke after ${received} bytes (${causeOf(err)})`;
      onEvent({ kind: 'download-broken', received, problem: lastProblem });
      continue;
    }
    const digest = hash.digest('hex');
    if (pkg.size !== undefined && received !== pkg.size) return `size mismatch: expected ${pkg.size} bytes, got ${received}`;
    if (pkg.sha256 !== undefined && digest !== pkg.sha256.toLowerCase()) return `SHA-256 mismatch: expected ${pkg.sha256}, got ${digest}`;
    return undefined;
  }
  return `download failed after ${o.downloadAttempts} attempts: ${lastProblem}`;
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
