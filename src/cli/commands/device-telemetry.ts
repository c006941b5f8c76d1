/**
 * `tether device --telemetry`: the data collection tutorial's client. Publishes batches of data
 * samples to kp1/<app-version>/dcx/<token>/json/<requestId> every interval and prints the replies,
 * which Tether delivers without a subscription.
 */
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { errors } from '../../core/errors.js';
import type { Io } from '../io.js';
import { sleepUnlessAborted } from '../sleep.js';

export interface TelemetryOptions {
  token: string;
  appVersion: string;
  qos: 0 | 1;
  /** Seconds between batches. */
  intervalS: number;
  /** Samples per batch. */
  batch: number;
  /** Batches to send; undefined: until interrupted. */
  count: number | undefined;
  /** JSON file with samples (an array, or one object) sent in turn; absent: a simulated vehicle. */
  samplesFile: string | undefined;
  /** How long to wait for the replies still missing after the last batch. */
  replyTimeoutMs: number;
}

export async function loadSamples(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw errors.configInvalid(`--samples ${JSON.stringify(file)}`, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw errors.configInvalid(`--samples ${JSON.stringify(file)}`, 'the file is not JSON; give a JSON array of sample objects');
  }
  const samples = Array.isArray(data) ? data : [data];
  if (samples.length === 0 || samples.some((s) => typeof s !== 'object' || s === null || Array.isArray(s))) {
    throw errors.configInvalid(`--samples ${JSON.stringify(file)}`, 'give a non-empty JSON array of sample objects, e.g. [{"temperature": 21}]');
  }
  return samples as Record<string, unknown>[];
}

/** The tutorial's vehicle: position, engine temperature and fuel level drifting a little each sample. */
function vehicle(): () => Record<string, unknown> {
  let latitude = 37.35119;
  let longitude = -122.03248;
  let temperature = 98;
  let fuelLevel = 100;
  return () => {
    latitude = round(latitude + (Math.random() - 0.5) * 0.001, 5);
    longitude = round(longitude + (Math.random() - 0.5) * 0.001, 5);
    temperature = Math.max(60, Math.min(130, temperature + Math.round((Math.random() - 0.5) * 4)));
    fuelLevel = fuelLevel <= 1 ? 100 : round(fuelLevel - Math.random() * 0.5, 2);
    return { latitude, timestamp: Date.now(), temperature, longitude, fuelLevel };
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** `fromFile`: the samples of --samples, read before connecting so a bad file fails first. */
export async function runTelemetry(client: MqttClient, o: TelemetryOptions, fromFile: Record<string, unknown>[] | undefined, io: Io, signal: AbortSignal): Promise<number> {
  const next = fromFile ? ((i = 0) => () => fromFile[i++ % fromFile.length]!)() : vehicle();
  const base = `kp1/${o.appVersion}/dcx/${o.token}/json`;
  let failures = 0;
  const unanswered = new Set<string>();
  let allAnswered: (() => void) | undefined;
  client.on('message', (topic, payload) => {
    if (!topic.startsWith(`${base}/`)) return;
    io.out(`INFO: Message received: topic [${topic}]\nbody [${payload.toString('utf8')}]`);
    if (topic.endsWith('/error')) failures++;
    unanswered.delete(topic.slice(0, topic.lastIndexOf('/')));
    if (unanswered.size === 0) allAnswered?.();
  });
  let requestId = Math.floor(Math.random() * 1000) + 1;
  for (let sent = 0; o.count === undefined || sent < o.count; sent++) {
    if (signal.aborted) break;
    const topic = `${base}/${requestId++}`;
    unanswered.add(topic);
    const batch = Array.from({ length: o.batch }, () => next());
    const payload = JSON.stringify(batch);
    if (sent === 0) io.out(`DEBUG: Composed data collection topic: ${topic}`);
    await client.publishAsync(topic, payload, { qos: o.qos });
    io.out(`DEBUG: ${o.token}: Sent next data: ${payload}`);
    if (o.count !== undefined && sent + 1 >= o.count) break;
    await sleepUnlessAborted(o.intervalS * 1000, signal);
  }
  // Wait for the replies still on their way (bounded), so the last batch's status is shown too.
  if (unanswered.size > 0) {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort);
    allAnswered = () => stop.abort();
    await sleepUnlessAborted(o.replyTimeoutMs, stop.signal);
    signal.removeEventListener('abort', onAbort);
    if (unanswered.size > 0) io.err(`WARNING: ${unanswered.size} batch(es) got no reply within ${o.replyTimeoutMs} ms`);
  }
  return failures > 0 ? 1 : 0;
}

