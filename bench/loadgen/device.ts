import net from 'node:net';
import { encodeConnect, PacketParser, type Packet } from '../mqtt-codec.js';

export interface Target {
  host: string;
  port: number;
  /**
   * Source addresses to spread connections over: tens of thousands of short-lived connections to
   * one listener would otherwise run out of ephemeral ports on a single (source, destination) pair.
   */
  localAddresses: string[];
}

let nextLocal = 0;

/** One device connection: a raw socket plus a parser; the caller sets `onPacket` per scenario. */
export class Device {
  onPacket: (packet: Packet) => void = () => {};
  onClose: (() => void) | null = null;
  closed = false;
  readonly socket: net.Socket;
  private readonly parser = new PacketParser((p) => this.onPacket(p));

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Corking batches the writes a chunk of acks triggers into one syscall.
      socket.cork();
      this.parser.push(chunk);
      process.nextTick(() => socket.uncork());
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.onClose?.();
    });
  }

  /** TCP connect + MQTT CONNECT; resolves on CONNACK 0, rejects on refusal, close or timeout. */
  static connect(target: Target, clientId: string, keepaliveSeconds: number, timeoutMs = 30_000): Promise<Device> {
    const localAddress = target.localAddresses[nextLocal++ % target.localAddresses.length];
    const socket = net.connect({ host: target.host, port: target.port, localAddress });
    const device = new Device(socket);
    return new Promise<Device>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`CONNACK timeout for ${clientId}`));
      }, timeoutMs);
      device.onClose = () => {
        clearTimeout(timer);
        reject(new Error(`connection closed before CONNACK for ${clientId}`));
      };
      device.onPacket = (p) => {
        if (p.type !== 2) return;
        clearTimeout(timer);
        device.onClose = null;
        device.onPacket = () => {};
        const rc = (p as { returnCode: number }).returnCode;
        if (rc === 0) resolve(device);
        else {
          socket.destroy();
          reject(new Error(`CONNACK return code ${rc} for ${clientId}`));
        }
      };
      socket.on('connect', () => socket.write(encodeConnect(clientId, keepaliveSeconds)));
    });
  }

  write(buf: Buffer): void {
    if (!this.closed) this.socket.write(buf);
  }

  /** Sends DISCONNECT and waits for the close (or destroys after `timeoutMs`). */
  end(disconnect: Buffer | null, timeoutMs = 5_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
      }, timeoutMs);
      this.onClose = () => {
        clearTimeout(timer);
        resolve();
      };
      if (disconnect) this.socket.end(disconnect);
      else this.socket.end();
    });
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}
