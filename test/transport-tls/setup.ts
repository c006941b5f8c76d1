import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { connectAsync } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { generateTestPki } from '../helpers/certs.js';
import type { TestPki } from '../helpers/certs.js';
import { start, testConfig } from '../platform/helpers.js';
import type { RunningTether } from '../../src/platform/tether.js';
import type { Cleanup } from '../helpers/tmp.js';

/** One PKI per test file is enough: tests only read it (reload tests copy files to their own dir). */
let shared: TestPki | undefined;
export function testPki(): TestPki {
  if (!shared) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-pki-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    shared = generateTestPki(dir);
  }
  return shared;
}

export function tlsFlags(files: { cert: string; key: string; ca?: string }): string[] {
  return ['--tls-cert', files.cert, '--tls-key', files.key, ...(files.ca !== undefined ? ['--tls-ca', files.ca] : []), '--mqtts-port', '0', '--https-port', '0'];
}

/** A whole Tether with TLS on free ports (MQTT, MQTT over TLS, HTTP + /ws, HTTPS + /ws). */
export async function startSecure(t: Cleanup, dataDir: string, files: { cert: string; key: string; ca?: string } = testPki().server): Promise<RunningTether> {
  return start(t, await testConfig(dataDir, tlsFlags(files)));
}

export interface TransportCase {
  name: 'tcp' | 'tls' | 'ws' | 'wss';
  /** A real mqtt@5 client over this transport. */
  connect(running: RunningTether, options?: IClientOptions): Promise<MqttClient>;
  /** Writes bytes in one go and closes the sending side, without waiting for anything. */
  sendAndClose(running: RunningTether, bytes: Buffer): Promise<void>;
}

const base: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 };

export const TRANSPORTS: TransportCase[] = [
  {
    name: 'tcp',
    connect: (r, o) => connectAsync(`mqtt://127.0.0.1:${r.mqttPort}`, { ...base, ...o }),
    sendAndClose: (r, bytes) =>
      new Promise((resolve, reject) => {
        const socket = net.connect(r.mqttPort, '127.0.0.1', () => socket.end(bytes, () => resolve()));
        socket.on('error', reject);
      }),
  },
  {
    name: 'tls',
    connect: (r, o) => connectAsync(`mqtts://127.0.0.1:${r.mqttsPort}`, { ...base, ca: testPki().ca.certPem, ...o }),
    sendAndClose: (r, bytes) =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ port: r.mqttsPort!, host: '127.0.0.1', ca: testPki().ca.certPem }, () => socket.end(bytes, () => resolve()));
        socket.on('error', reject);
      }),
  },
  {
    name: 'ws',
    connect: (r, o) => connectAsync(`ws://127.0.0.1:${r.httpPort}${r.wsPath}`, { ...base, ...o }),
    sendAndClose: (r, bytes) => sendOverWebSocket(`ws://127.0.0.1:${r.httpPort}${r.wsPath}`, bytes),
  },
  {
    name: 'wss',
    connect: (r, o) => connectAsync(`wss://127.0.0.1:${r.httpsPort}${r.wsPath}`, { ...base, ca: testPki().ca.certPem, ...o }),
    sendAndClose: (r, bytes) => sendOverWebSocket(`wss://127.0.0.1:${r.httpsPort}${r.wsPath}`, bytes, { ca: testPki().ca.certPem }),
  },
];

function sendOverWebSocket(url: string, bytes: Buffer, options: { ca?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt', options);
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(bytes, { binary: true }, (err) => {
        if (err) reject(err);
        else {
          ws.close();
          resolve();
        }
      });
    });
  });
}

/** GET over HTTPS trusting the test CA; resolves with status, body and the server's certificate fingerprint. */
export function httpsGet(port: number, route: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: route, ca: testPki().ca.certPem, headers, agent: false }, (response) => {
      const fingerprint = (response.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, fingerprint }));
    });
    request.on('error', reject);
  });
}

/** The fingerprint of the certificate a new TLS connection to `port` is shown. */
export function serverFingerprint(port: number, ca = testPki().ca.certPem): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}
