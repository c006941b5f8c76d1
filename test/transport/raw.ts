import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { IConnackPacket, IConnectPacket, Packet } from 'mqtt-packet';

/**
 * A raw MQTT connection for tests: sends exactly the packets (or bytes) a test builds, at either
 * protocol level, and collects what the server sends. Every wait has a deadline.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly received: Packet[] = [];
  readonly closed: Promise<void>;
  private readonly parser;

  private constructor(
    port: number,
    readonly version: 4 | 5,
  ) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (packet: Packet) => this.received.push(packet));
    this.parser.on('error', () => {});
    this.socket.on('data', (chunk) => this.parser.parse(chunk));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  static async open(port: number, version: 4 | 5 = 4): Promise<RawClient> {
    const client = new RawClient(port, version);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', () => resolve());
      client.socket.once('error', reject);
    });
    return client;
  }

  /** Opens, sends CONNECT and waits for the CONNACK, which it returns. */
  static async connected(port: number, version: 4 | 5, connect: Partial<IConnectPacket> = {}): Promise<{ client: RawClient; connack: IConnackPacket }> {
    const client = await RawClient.open(port, version);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, clientId: `raw-${Math.random().toString(36).slice(2)}`, keepalive: 0, ...connect } as IConnectPacket);
    const connack = await client.next('connack');
    return { client, connack };
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet of that type not returned before. */
  async next<C extends Packet['cmd']>(cmd: C, timeoutMs = 3000): Promise<Extract<Packet, { cmd: C }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.received.findIndex((p) => p.cmd === cmd);
      if (at >= 0) {
        const packet = this.received[at]!;
        // Later waits look after it; earlier packets of other types stay findable.
        this.received.splice(at, 1);
        return packet as Extract<Packet, { cmd: C }>;
      }
      if (Date.now() > deadline) throw new Error(`no ${cmd.toUpperCase()} within ${timeoutMs} ms; got ${this.received.map((p) => p.cmd).join(', ') || 'nothing'}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** All packets of that type received so far (not removed). */
  all<C extends Packet['cmd']>(cmd: C): Array<Extract<Packet, { cmd: C }>> {
    return this.received.filter((p) => p.cmd === cmd) as Array<Extract<Packet, { cmd: C }>>;
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resolves after `ms`: only to show that something did NOT happen within a bounded time. */
export function quietFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
