/**
 * A client pointed at the wrong one of Tether's ports gets the other protocol's bytes back, and the
 * libraries report riddles ("Invalid header flag bits…", "UND_ERR_SOCKET"). After such a failure
 * these probes ask the port once in the other protocol, so the error can name what it speaks.
 */
import net from 'node:net';

const PROBE_TIMEOUT_MS = 2000;

/** The first bytes a port answers to `hello`, or undefined (refused, silent, closed). */
function firstBytes(host: string, port: number, hello: Buffer | string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (value: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), PROBE_TIMEOUT_MS);
    socket.once('connect', () => socket.write(hello));
    socket.once('data', (chunk: Buffer) => done(chunk));
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(undefined));
  });
}

/** Whether the port answers HTTP; if it is a Tether, also where its MQTT listens (when it says). */
export async function speaksHttp(host: string, port: number): Promise<{ mqttPort?: number } | undefined> {
  const answer = await firstBytes(host, port, `GET /healthz HTTP/1.0\r\nHost: ${host}\r\nAccept: application/json\r\n\r\n`);
  if (answer === undefined || !answer.subarray(0, 5).equals(Buffer.from('HTTP/'))) return undefined;
  const body = /"mqttPort":(\d+)/.exec(answer.toString('latin1'));
  return body ? { mqttPort: Number(body[1]) } : {};
}

// MQTT 3.1.1 CONNECT, clean session, empty client ID: any MQTT server answers CONNACK (0x20).
const MQTT_CONNECT = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]);

export async function speaksMqtt(host: string, port: number): Promise<boolean> {
  const answer = await firstBytes(host, port, MQTT_CONNECT);
  return answer !== undefined && answer[0] === 0x20;
}

/** For the device command: "port 8080 speaks HTTP, not MQTT; …", or undefined if it does not. */
export async function httpInsteadOfMqtt(host: string, port: number): Promise<string | undefined> {
  const http = await speaksHttp(host, port);
  if (http === undefined) return undefined;
  const mqtt = http.mqttPort !== undefined ? `the MQTT port of this Tether is ${http.mqttPort}` : 'the MQTT port is 1883 unless Tether was started with --mqtt-port';
  return `port ${port} speaks HTTP (Tether's dashboard and REST API), not MQTT; ${mqtt}: use --port ${http.mqttPort ?? 1883}`;
}

/** For the REST commands: "port 1883 speaks MQTT, not HTTP; …", or undefined if it does not. */
export async function mqttInsteadOfHttp(baseUrl: string): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(await speaksMqtt(host, port))) return undefined;
  return `port ${port} speaks MQTT, not HTTP; the dashboard and REST API port is 8080 unless Tether was started with --http-port`;
}
