import { Duplex } from 'node:stream';
import { carryPeer } from './peer.js';

/**
 * Wraps a device connection before aedes sees it, so that the connection's end reaches aedes only
 * after the CONNECT it carried has been processed.
 *
 * Why: clients such as the Kaa tutorial's paho script send CONNECT, PUBLISH and DISCONNECT back to
 * back and close the socket without waiting for CONNACK. aedes queues packets that arrive before
 * CONNACK and drops that queue when the stream ends, so the PUBLISH would be lost. Holding the end
 * (and any close or error of the underlying stream) until aedes reports the client connected lets
 * the queued PUBLISH run first. Writes that fail while held are ignored for the same reason: a
 * CONNACK that cannot be delivered must not abort the session before its queued requests run.
 *
 * The hold ends when `release()` is called (the server does so on aedes' `connected` event), or
 * once the peer has closed and what it sent turned out to hold no CONNECT (nothing, a partial
 * packet, or garbage aedes has already refused).
 */
export class IntakeStream extends Duplex {
  private held = true;
  private received = false;
  private innerEnded = false;
  private innerClosed = false;
  private endPushed = false;
  private innerError: Error | undefined;
  private stallChecks = 0;

  /**
   * @param connectStarted whether aedes has parsed a CONNECT on this stream (it is connecting or
   *   connected); until then a closed peer's bytes may still hold one.
   */
  constructor(
    private readonly inner: Duplex,
    private readonly connectStarted: () => boolean,
  ) {
    super({ allowHalfOpen: true, decodeStrings: false });
    // aedes' client.conn is this wrapper: client authentication reads the transport's peer from it.
    carryPeer(inner, this);
    inner.on('data', (chunk: Buffer) => {
      this.received = true;
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => {
      this.innerEnded = true;
      if (!this.received) this.held = false;
      this.passOn();
      this.checkStalled();
    });
    inner.on('error', (err: Error) => {
      this.innerError ??= err;
      this.passOn();
    });
    inner.on('close', () => {
      this.innerClosed = true;
      if (!this.received) this.held = false;
      this.passOn();
      this.checkStalled();
    });
  }

  /**
   * The peer is gone: once aedes has read everything it sent without starting a CONNECT, no
   * CONNECT can come any more, so there is nothing to hold for. aedes reads on the next ticks.
   */
  private readonly checkStalled = (): void => {
    if (!this.held || this.destroyed || this.connectStarted()) return;
    if (this.readableLength === 0) this.release();
    else if (this.stallChecks++ < 20) setImmediate(this.checkStalled);
  };

  /** Lets the underlying stream's end, close or error through to the reader (aedes). */
  release(): void {
    this.held = false;
    this.passOn();
  }

  private passOn(): void {
    if (this.held || this.destroyed) return;
    if (this.innerError) {
      this.destroy(this.innerError);
    } else if (this.innerEnded) {
      if (!this.endPushed) {
        this.endPushed = true;
        this.push(null);
      }
    } else if (this.innerClosed) {
      this.destroy();
    }
  }

  override _read(): void {
    this.inner.resume();
  }

  // mqtt-packet writes topics as strings: they pass through undecoded, the socket encodes them.
  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, encoding, (err) => callback(this.held ? null : err));
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    const inner = this.inner;
    const last = chunks.length - 1;
    inner.cork();
    for (let i = 0; i < last; i++) inner.write(chunks[i]!.chunk, chunks[i]!.encoding);
    inner.write(chunks[last]!.chunk, chunks[last]!.encoding, (err) => callback(this.held ? null : err));
    inner.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }
}
