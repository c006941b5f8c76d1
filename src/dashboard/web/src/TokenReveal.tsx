import type { ServerInfo } from './api.js';
import { mosquittoCommand, tetherDeviceCommand } from './commands.js';
import { CopyButton } from './ui.js';
import { Snippet } from './ui.js';

/** A new token, shown this one time, with the command lines that connect a device with it. */
export function TokenReveal({ token, server, appVersion }: { token: string; server: ServerInfo | undefined; appVersion: string }) {
  return (
    <div className="reveal">
      <p className="notice">
        <strong>Copy the token now.</strong> It is shown only once; Tether keeps only its hash.
      </p>
      <div className="token-line">
        <label htmlFor="new-token">Endpoint token</label>
        <div className="token-box">
          <input id="new-token" data-testid="new-token" readOnly value={token} onFocus={(event) => event.currentTarget.select()} />
          <CopyButton text={token} label="Copy endpoint token" />
        </div>
      </div>
      {server && (
        <>
          <Snippet label="Connect with the Tether CLI" text={tetherDeviceCommand(token, server, appVersion)} testId="cli-command" />
          <Snippet label="Or report metadata with mosquitto_pub" text={mosquittoCommand(token, server, appVersion)} testId="mosquitto-command" />
        </>
      )}
    </div>
  );
}
