/**
 * `tether device --observe`: a device that stays connected and is told things. It observes its
 * configuration (7/CMP: `{"observe":true}` on cmx/<token>/config/json, then reports `applied/json`
 * for each configuration it gets) and answers commands pushed on cex/<token>/command/<type>/status
 * (11/CEP): `echo` and `reboot` built in, any other type 501. Like Kaa's clients it relies on the
 * server's pushes; it subscribes too, for brokers that need a subscription.
 */
import type { MqttClient } from 'mqtt';
import type { Io } from '../io.js';
import { sleepUnlessAborted } from '../sleep.js';

export interface ObserveOptions {
  token: string;
  appVersion: string;
  qos: 0 | 1;
  /** How long `reboot` stays away, and how long to wait before reconnecting after a lost connection. */
  reconnectDelayMs: number;
}

/** What ended one connection. */
type SessionEnd = 'stopped' | 'reboot' | 'lost' | 'refused';

interface CommandItem {
  id: number;
  payload?: unknown;
}

/**
 * Runs until `signal` aborts: connects, observes, answers, and reconnects after a `reboot` or a lost
 * connection. The first connection failing is fatal (exit 1), as in the other device modes.
 */
export async function runObserve(connect: () => Promise<MqttClient>, o: ObserveOptions, io: Io, signal: AbortSignal): Promise<number> {
  // Configurations this device has applied, by name ('' the default): sent back as `configId` after
  // a reconnect (7/CMP: the server then answers {} when nothing changed), and never reported twice.
  const applied = new Map<string, string>();
  let client = await connect();
  for (;;) {
    const end = await session(client, o, io, signal, applied);
    if (end === 'stopped') return 0;
    // A token the server refuses (unknown, suspended, revoked) does not get better by reconnecting.
    if (end === 'refused') return 1;
    await sleepUnlessAborted(o.reconnectDelayMs, signal);
    if (signal.aborted) return 0;
    for (;;) {
      io.out(`INFO: Reconnecting${end === 'reboot' ? ' after the reboot' : ''}...`);
      try {
        client = await connect();
        io.out('INFO: Successfully connected');
        break;
      } catch (err) {
        io.err(`WARNING: ${err instanceof Error ? err.message : String(err)}; retrying in ${o.reconnectDelayMs} ms`);
        await sleepUnlessAborted(o.reconnectDelayMs, signal);
        if (signal.aborted) return 0;
      }
    }
  }
}

async function session(client: MqttClient, o: ObserveOptions, io: Io, signal: AbortSignal, applied: Map<string, string>): Promise<SessionEnd> {
  const cmx = `kp1/${o.appVersion}/cmx/${o.token}`;
  const cex = `kp1/${o.appVersion}/cex/${o.token}`;
  let requestId = Math.floor(Math.random() * 1000) + 1;
  const configRequestIds = new Set<string>();
  const handled = new Set<number>();
  let rebooting = false;

  let finish: (end: SessionEnd) => void = () => {};
  const ended = new Promise<SessionEnd>((resolve) => (finish = resolve));
  const onAbort = () => finish('stopped');
  signal.addEventListener('abort', onAbort);
  const onClose = () => finish(rebooting ? 'reboot' : 'lost');
  client.on('close', onClose);

  const publish = (topic: string, body: unknown, qos: 0 | 1 = o.qos) => {
    const payload = JSON.stringify(body);
    return client.publishAsync(topic, payload, { qos }).then(
      () => payload,
      (err: unknown) => {
        io.err(`WARNING: publishing to ${topic} failed: ${err instanceof Error ? err.message : String(err)}`);
        return payload;
      },
    );
  };

  const onConfiguration = async (topic: string, name: string, text: string) => {
    const label = name === '' ? 'configuration' : `configuration "${name}"`;
    let body: { configId?: unknown; config?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      io.err(`WARNING: ${label} on ${topic} is not JSON: ${text}`);
      return;
    }
    // 7/CMP: {} means "what you have is current"; configId "" with config null means "none set".
    if (typeof body.configId !== 'string') {
      io.out(`INFO: ${cap(label)} unchanged (reply on ${topic})`);
      return;
    }
    if (body.configId === '') {
      io.out(`INFO: No ${label} set yet (reply on ${topic}); waiting for one`);
      return;
    }
    const already = applied.get(name) === body.configId;
    io.out(`INFO: ${cap(label)} received on ${topic}: configId ${body.configId}${already ? ' (already applied)' : ''}`);
    io.out(`INFO: Config: ${JSON.stringify(body.config)}`);
    if (already) return;
    applied.set(name, body.configId);
    const appliedTopic = `${cmx}/applied/json${name === '' ? '' : `/${name}`}/${requestId++}`;
    const sent = await publish(appliedTopic, { configId: body.configId, statusCode: 200, reasonPhrase: 'applied' });
    io.out(`INFO: Reported ${label} applied on ${appliedTopic}: ${sent}`);
  };

  const onCommands = async (topic: string, type: string, text: string) => {
    let items: CommandItem[];
    try {
      const parsed = JSON.parse(text) as unknown;
      items = (Array.isArray(parsed) ? parsed : [parsed]) as CommandItem[];
    } catch {
      io.err(`WARNING: commands on ${topic} are not JSON: ${text}`);
      return;
    }
    // A command may come twice (a push and a request's answer); it is executed once.
    const fresh = items.filter((c) => typeof c?.id === 'number' && !handled.has(c.id));
    if (fresh.length === 0) return;
    for (const c of fresh) {
      handled.add(c.id);
      io.out(`INFO: Command received on ${topic}: ${type} #${c.id} payload ${c.payload === undefined ? '(none)' : JSON.stringify(c.payload)}`);
    }
    const results = fresh.map((c) => execute(type, c));
    const resultTopic = `${cex}/result/${type}/${requestId++}`;
    // Before a reboot the result goes at QoS 1: its PUBACK comes once Tether stored it, so the
    // device does not leave with its result unsaved (and get the reboot again when it is back).
    const sent = await publish(resultTopic, results, type === 'reboot' ? 1 : o.qos);
    io.out(`INFO: Sent result on ${resultTopic}: ${sent}`);
    if (type === 'reboot') {
      rebooting = true;
      io.out(`INFO: Rebooting: disconnecting for ${o.reconnectDelayMs} ms`);
      await client.endAsync().catch(() => {});
      finish('reboot');
    }
  };

  client.on('message', (topic: string, payload: Buffer) => {
    const text = payload.toString('utf8');
    void route(topic, text).catch((err: unknown) => io.err(`WARNING: handling ${topic} failed: ${err instanceof Error ? err.message : String(err)}`));
  });

  const route = async (topic: string, text: string) => {
    if (topic.startsWith(`${cmx}/config/json`)) {
      const rest = topic.slice(`${cmx}/config/json`.length).split('/').filter((s) => s !== '');
      const outcome = rest.pop();
      // config/json[/<name>][/<requestId>]/(status|error): our request IDs are told apart from names.
      if (rest.length > 0 && configRequestIds.has(rest[rest.length - 1]!)) rest.pop();
      const name = rest.join('/');
      if (outcome === 'error') {
        io.err(`ERROR: Configuration request refused (reply on ${topic}): ${text}`);
        if (refusesToken(text)) finish('refused');
      } else if (outcome === 'status') await onConfiguration(topic, name === 'default' ? '' : name, text);
      return;
    }
    if (topic.startsWith(`${cex}/command/`)) {
      const [type = '', ...rest] = topic.slice(`${cex}/command/`.length).split('/');
      const outcome = rest.at(-1);
      if (outcome === 'error') io.err(`ERROR: Command request refused (reply on ${topic}): ${text}`);
      else if (outcome === 'status') await onCommands(topic, type, text);
      return;
    }
    if (topic.endsWith('/error')) io.err(`ERROR: Server refused (reply on ${topic}): ${text}`);
    else if (topic.endsWith('/status') && topic.startsWith(`${cex}/result/`)) io.out(`INFO: Server stored the result (reply on ${topic})`);
    else if (topic.endsWith('/status') && topic.startsWith(`${cmx}/applied/`)) io.out(`INFO: Server stored the applied report (reply on ${topic})`);
  };

  try {
    if (signal.aborted) return 'stopped';
    await client.subscribeAsync([`${cmx}/config/json/#`, `${cmx}/applied/json/#`, `${cex}/command/#`, `${cex}/result/#`], { qos: o.qos }).catch(() => undefined);
    // The request shows the token to the server (it then pushes what is outstanding) and asks it
    // to keep pushing; after a reconnect it names the configuration in use (7/CMP).
    const id = requestId++;
    configRequestIds.add(String(id));
    const configTopic = `${cmx}/config/json/${id}`;
    const current = applied.get('');
    const sent = await publish(configTopic, current === undefined ? { observe: true } : { observe: true, configId: current });
    io.out(`INFO: Observing the configuration: sent ${sent} to ${configTopic}`);
    io.out('INFO: Waiting for configurations and commands (Ctrl-C to stop)');
    const end = await ended;
    if (end === 'lost') io.err('WARNING: The server closed the connection');
    return end;
  } finally {
    signal.removeEventListener('abort', onAbort);
    client.removeListener('close', onClose);
    if (!rebooting && client.connected) await client.endAsync().catch(() => {});
    client.removeAllListeners('message');
  }
}

/** 401 (unknown token) or 403 (suspended or revoked) in a 1/KP error payload. */
export function refusesToken(text: string): boolean {
  try {
    const code = (JSON.parse(text) as { statusCode?: unknown }).statusCode;
    return code === 401 || code === 403;
  } catch {
    return false;
  }
}

/** 11/CEP result of one command: `echo` answers its payload, `reboot` 200, anything else 501. */
function execute(type: string, c: CommandItem): { id: number; statusCode: number; reasonPhrase: string; payload?: unknown } {
  if (type === 'echo') return { id: c.id, statusCode: 200, reasonPhrase: 'OK', ...(c.payload !== undefined && { payload: c.payload }) };
  if (type === 'reboot') return { id: c.id, statusCode: 200, reasonPhrase: 'rebooting' };
  return { id: c.id, statusCode: 501, reasonPhrase: 'unsupported command' };
}

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

