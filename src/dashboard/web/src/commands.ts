import type { ServerInfo } from './api.js';
import { shellQuote } from './format.js';

export const DEFAULT_APP_VERSION = 'demo_application_v1';
const EXAMPLE_METADATA = '{"model":"MySmartMeter A300","mac":"00-14-22-01-23-45"}';

/**
 * The `npx tether device` line that connects a simulated device and reports example metadata.
 * `npx`, because a clone (the README's way in) puts no `tether` on the PATH; npx finds the
 * package's own bin there and in a global install alike.
 */
export function tetherDeviceCommand(token: string, server: ServerInfo, appVersion: string): string {
  // A token may begin with `-` (base64url): written `--token=-Abc…` it cannot be read as an option.
  const tokenArgs = token.startsWith('-') ? [`--token=${shellQuote(token)}`] : ['--token', shellQuote(token)];
  const parts = ['npx tether device', ...tokenArgs, '--host', shellQuote(server.mqttHost), '--port', String(server.mqttPort)];
  if (appVersion !== DEFAULT_APP_VERSION) parts.push('--app-version', shellQuote(appVersion));
  return parts.join(' ');
}

/** The same report with the stock Mosquitto client: 10/EPMP `update/keys` over 1/KP. */
export function mosquittoCommand(token: string, server: ServerInfo, appVersion: string): string {
  const topic = `kp1/${appVersion}/epmx/${token}/update/keys`;
  return ['mosquitto_pub', '-h', shellQuote(server.mqttHost), '-p', String(server.mqttPort), '-t', shellQuote(topic), '-m', shellQuote(EXAMPLE_METADATA)].join(' ');
}
