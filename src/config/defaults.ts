import type { DeclaredApplication } from '../core/services.js';

/**
 * The tutorials' application: `kp1/demo_application_v1/epmx/<token>/update/keys` (metadata) and
 * `kp1/demo_application_v1/dcx/<token>/json` (data collection), `…/cmx/<token>/config/json` (configuration),
 * `…/cex/<token>/command/<type>` (commands) and `…/cmx_ota/<token>/config/json` (software updates)
 * work out of the box.
 */
export function defaultApplications(): DeclaredApplication[] {
  return [{ name: 'demo_application', versions: [{ name: 'demo_application_v1', extensions: ['epmx', 'dcx', 'cmx', 'cex', 'cmx_ota'] }] }];
}

export const DEFAULTS = {
  host: '0.0.0.0',
  mqttPort: 1883,
  httpPort: 8080,
  mqttsPort: 8883,
  httpsPort: 8443,
  dataDir: './data',
  logLevel: 'info',
  storageKind: 'sqlite',
  sqliteSynchronous: 'full',
  busKind: 'memory',
} as const;
