/**
 * `tether device --ota [--devices N]`: one or many simulated OTA devices from one process, each on
 * its own MQTT connection with its own token. Few devices log every step; many print a summary.
 */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { errors } from '../../core/errors.js';
import { createApiClient } from '../api-client.js';
import type { Io } from '../io.js';
import { sleepUnlessAborted } from '../sleep.js';
import { runOtaDevice } from './device-ota.js';
import type { OtaEvent, OtaOptions } from './device-ota.js';

/** Above this many devices the log is a summary line every few seconds instead of every step. */
const DETAILED_UP_TO = 10;
const SUMMARY_EVERY_MS = 2000;
/** Connections opened at once: thousands in one burst would only queue in the kernel. */
const CONNECT_PARALLEL = 100;
/** How long a device whose connection was lost waits before it connects again. */
const RECONNECT_MS = 1000;

export interface FleetOptions {
  /** The device settings shared by all; `token` is replaced per device. */
  device: Omit<OtaOptions, 'token'>;
  tokens: string[];
  /** Exit once every device applied or failed one update (else: run until Ctrl-C). */
  untilUpdated: boolean;
}

/** Tokens for --devices: from --token(s), a file, or new endpoints created over REST. */
export async function fleetTokens(
  given: { token?: string | undefined; tokensFile?: string | undefined; devices: number | undefined; appVersion: string; api: { api?: string | undefined; 'api-key'?: string | undefined; 'data-dir'?: string | undefined } },
  io: Io,
): Promise<string[]> {
  if (given.token !== undefined) {
    if (given.devices !== undefined && given.devices !== 1) throw errors.configInvalid('command line', '--token is one device; for --devices N give --tokens-file <file>, or no token to create N endpoints');
    return [given.token];
  }
  if (given.tokensFile !== undefined) {
    const flag = `--tokens-file ${JSON.stringify(given.tokensFile)}`;
    let text: string;
    try {
      text = await readFile(path.resolve(io.cwd, given.tokensFile), 'utf8');
    } catch (err) {
      throw errors.configInvalid(flag, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    // One token a line, or the CSV of `endpoints import --tokens-out` (line,endpointId,token,error).
    const tokens = text
      .split(/\r?\n/)
      .map((line) => (line.includes(',') ? line.split(',')[2] ?? '' : line).trim())
      .filter((t) => t !== '' && t !== 'token');
    if (tokens.length === 0) throw errors.configInvalid(flag, 'it has no tokens; write one token a line');
    if (given.devices === undefined) return tokens;
    if (tokens.length < given.devices) throw errors.configInvalid(flag, `it has ${tokens.length} tokens for --devices ${given.devices}`);
    return tokens.slice(0, given.devices);
  }
  // No tokens given: register the devices, as `npx tether endpoints create` would.
  const devices = given.devices ?? 1;
  const client = await createApiClient(given.api, io);
  const tokens: string[] = [];
  for (let i = 0; i < devices; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, devices - i) }, () =>
        client.request<{ endpointId: string; token: string }>('POST', '/epr/api/v1/endpoints', { appVersion: { name: given.appVersion }, metadata: { simulator: 'ota' } }),
      ),
    );
    tokens.push(...batch.map((b) => b.token));
  }
  io.out(`INFO: Registered ${tokens.length} endpoint${tokens.length === 1 ? '' : 's'} of ${given.appVersion} for the simulated devices`);
  return tokens;
}

export async function runOtaFleet(connect: () => Promise<MqttClient>, f: FleetOptions, io: Io, signal: AbortSignal): Promise<number> {
  const detailed = f.tokens.length <= DETAILED_UP_TO;
  const counts = { connected: 0, offered: 0, applied: 0, failed: 0 };
  const outcome = new Map<string, 'applied' | 'failed'>();
  const stop = new AbortController();
  // Every device (and each of its downloads) listens on it: thousands, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort);
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (allDone = resolve));

  const log = (token: string, e: OtaEvent) => {
    if (e.kind === 'offered') counts.offered++;
    if (e.kind === 'applied' || e.kind === 'failed') {
      counts[e.kind]++;
      if (!outcome.has(token)) outcome.set(token, e.kind);
      if (f.untilUpdated && outcome.size === f.tokens.length) allDone();
    }
    if (!detailed) return;
    const who = f.tokens.length > 1 ? `[${token}] ` : '';
    io.out(`INFO: ${who}${describe(e)}`);
  };

  const timer = detailed ? undefined : setInterval(() => io.out(`INFO: ${summary(counts, f.tokens.length)}`), SUMMARY_EVERY_MS);
  const clients = new Set<MqttClient>();
  const sessions: Array<Promise<'stopped' | 'refused'>> = [];
  /** A device for its whole run: reconnects (and reports its version again) when its connection is lost. */
  const live = async (first: MqttClient, token: string): Promise<'stopped' | 'refused'> => {
    const state = { current: f.device.currentVersion, finished: new Set<string>() };
    let client = first;
    for (;;) {
      const end = await runOtaDevice(client, { ...f.device, token }, (e) => log(token, e), stop.signal, state);
      clients.delete(client);
      if (end !== 'lost') return end;
      if (detailed) io.err(`WARNING: ${f.tokens.length > 1 ? `[${token}] ` : ''}the server closed the connection; reconnecting in ${RECONNECT_MS} ms`);
      for (;;) {
        await sleepUnlessAborted(RECONNECT_MS, stop.signal);
        if (stop.signal.aborted) return 'stopped';
        try {
          client = await connect();
          clients.add(client);
          break;
        } catch (err) {
          if (detailed) io.err(`WARNING: ${err instanceof Error ? err.message : String(err)}; retrying in ${RECONNECT_MS} ms`);
        }
      }
    }
  };
  try {
    for (let i = 0; i < f.tokens.length && !stop.signal.aborted; i += CONNECT_PARALLEL) {
      const batch = f.tokens.slice(i, i + CONNECT_PARALLEL);
      const connected = await Promise.all(batch.map(() => connect()));
      for (const client of connected) clients.add(client);
      counts.connected += connected.length;
      connected.forEach((client, j) => sessions.push(live(client, batch[j]!)));
    }
    if (detailed) io.out(`INFO: Waiting for software updates${f.untilUpdated ? '' : ' (Ctrl-C to stop)'}`);
    else io.out(`INFO: ${counts.connected} devices connected; waiting for software updates${f.untilUpdated ? '' : ' (Ctrl-C to stop)'}`);
    const refused = Promise.all(sessions).then((ends) => ends.every((e) => e === 'refused'));
    const ending = await Promise.race([done.then(() => 'updated' as const), stop.signal.aborted ? Promise.resolve('stopped' as const) : new Promise<'stopped'>((r) => stop.signal.addEventListener('abort', () => r('stopped'))), refused.then((all) => (all ? ('refused' as const) : ('stopped' as const)))]);
    stop.abort();
    if (!detailed) io.out(`INFO: ${summary(counts, f.tokens.length)}`);
    if (ending === 'refused') return 1;
    if (ending === 'updated') return [...outcome.values()].every((o) => o === 'applied') ? 0 : 1;
    return 0;
  } finally {
    clearInterval(timer);
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    await Promise.all([...clients].map((c) => c.endAsync().catch(() => undefined)));
  }
}

function summary(c: { connected: number; offered: number; applied: number; failed: number }, total: number): string {
  return `${c.connected}/${total} connected, ${c.offered} offered, ${c.applied} applied, ${c.failed} failed`;
}

function describe(e: OtaEvent): string {
  switch (e.kind) {
    case 'reported':
      return `Reported the current software version on ${e.topic}: {"configId":"${e.version}"}`;
    case 'asked':
      return `Asked for a software update: sent {} to ${e.topic}`;
    case 'up-to-date':
      return `No software update for this device (reply on ${e.topic})`;
    case 'offered':
      return `Software update offered on ${e.topic}: version ${e.version}, specification ${JSON.stringify(e.config)}`;
    case 'downloading':
      return `Downloading ${redact(e.url)}${e.from > 0 ? ` from byte ${e.from} (Range)` : ''}${e.size !== undefined ? ` (${e.size} bytes)` : ''}`;
    case 'download-broken':
      return `Download interrupted: ${e.problem}; resuming`;
    case 'applied':
      return `Updated to ${e.version}${e.downloaded ? ': package size and SHA-256 checked' : ' (no package to download)'}; reported on ${e.topic}`;
    case 'failed':
      return `Update to ${e.version} failed: ${e.reason}; reported statusCode 500 on ${e.topic}`;
    case 'refused':
      return `Server refused (reply on ${e.topic}): ${e.text}`;
  }
}

/** A signed URL's signature and a token in a query are secrets: not for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    for (const key of ['sig', 'token']) if (u.searchParams.has(key)) u.searchParams.set(key, '…');
    return u.toString().replace(/%E2%80%A6/g, '…');
  } catch {
    return url;
  }
}
