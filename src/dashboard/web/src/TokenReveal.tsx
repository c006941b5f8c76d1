import type { ServerInfo } from './api.js';
import { mosquittoCommand, tetherDeviceCommand } from './commands.js';
import { Snippet } from './ui.js';
import { SecretField } from './widgets.js';

/** A new token, shown this one time, with the command lines that connect a device with it. */
export function TokenReveal({ token, server, appVersion }: { token: string; server: ServerInfo | undefined; appVersion: string }) {
  return (
    <div className="reveal">
      <p className="notice">
        <strong>Copy the token now.</strong> It is shown only once; Tether keeps only its hash.
      </p>
      <SecretField id="new-token" label="Endpoint token" value={token} copyLabel="Copy endpoint token" />
      {server && (
        <>
          <Snippet label="Connect with the Tether CLI" text={tetherDeviceCommand(token, server, appVersion)} testId="cli-command" />
          <Snippet label="Or report metadata with mosquitto_pub" text={mosquittoCommand(token, server, appVersion)} testId="mosquitto-command" />
        </>
      )}
    </div>
  );
}
