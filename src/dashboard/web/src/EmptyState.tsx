import type { ServerInfo } from './api.js';
import { DEFAULT_APP_VERSION, tetherDeviceCommand } from './commands.js';

/** What a new operator sees before the first endpoint: the whole path from here to a listed device. */
export function EmptyState({ server, onAdd }: { server: ServerInfo | undefined; onAdd?: () => void }) {
  const example = server ? tetherDeviceCommand('<token>', server, DEFAULT_APP_VERSION) : 'npx tether device --token <token> --host <host> --port <port>';
  return (
    <div className="empty-state">
      <h2>No endpoints yet</h2>
      <p>An endpoint is the record of one device. To connect your first device:</p>
      <ol>
        <li>
          Optionally click <strong>Edit creation form</strong> to add fields you want to fill in for every device, such as{' '}
          <code>meterDescription</code>.
        </li>
        <li>
          Click <strong>Add endpoint</strong>. Tether creates the endpoint and shows its token <em>once</em>: copy it.
        </li>
        <li>
          On the device (or any machine that can reach {server ? `${server.mqttHost}:${server.mqttPort}` : 'the MQTT port'}), run:
          <pre tabIndex={0}>
            <code>{example}</code>
          </pre>
          The device connects over MQTT and reports its <code>model</code> and <code>mac</code>.
        </li>
        <li>
          Click <strong>Configure columns</strong> and add the <code>model</code> and <code>mac</code> columns. The device's row updates
          live as it connects and reports.
        </li>
      </ol>
      {onAdd ? (
        <button type="button" onClick={onAdd}>
          Add endpoint
        </button>
      ) : (
        <p className="muted">Your role is read-only: an operator or admin adds endpoints.</p>
      )}
    </div>
  );
}
